"""The PDF report: A4 landscape pages drawn with matplotlib (PdfPages): the summary and charts
first, then the main tables, with Noto Sans CJK embedded."""

from __future__ import annotations

import io
from typing import Any

from hallctl.supervision import charts
from hallctl.supervision.cells import headers, row_texts, text
from hallctl.supervision.definitions import KPIS
from hallctl.supervision.html_report import CARDS
from hallctl.supervision.report import Report, Table
from hallctl.supervision.tabular import brief

A4_LANDSCAPE = (11.69, 8.27)
ROWS_PER_PAGE = 22
PDF_TABLES = ["by_service", "by_window", "by_staff", "by_day", "cases", "alarm_kinds", "alarms"]
ALARM_COLUMNS = ["raised", "cleared", "kind", "severity", "message", "ack_by"]
MAX_PAGES = 3  # per table: the full lists are in the XLSX


def _page(report: Report, subtitle: str) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_LANDSCAPE, layout="constrained")
    fig.suptitle(f"{report.title}\n{subtitle}", fontsize=13, fontweight="bold", color="#1f4e79")
    return fig


def _cards(report: Report, into: Any) -> None:
    summary = report.table("summary")
    row = summary.rows[0]
    ax = into.add_subplot()
    ax.axis("off")
    for i, key in enumerate(CARDS):
        x, y = (i % 5) / 5 + 0.01, 0.62 - (i // 5) * 0.5
        ax.text(x, y + 0.2, KPIS[key].zh, fontsize=10, color="#555", transform=ax.transAxes)
        ax.text(x, y - 0.05, text(summary, key, row.get(key)), fontsize=17, color="#1f4e79",
                fontweight="bold", transform=ax.transAxes)  # fmt: skip


def _table_pages(report: Report, table: Table) -> list[Any]:
    t = brief(table)
    if t.key == "alarms":
        t = Table(t.key, t.title, [], ALARM_COLUMNS, t.rows)
    pages = []
    rows = t.rows or [{}]
    shown = rows[: ROWS_PER_PAGE * MAX_PAGES]
    for start in range(0, len(shown), ROWS_PER_PAGE):
        chunk = shown[start : start + ROWS_PER_PAGE]
        more = f"（{start // ROWS_PER_PAGE + 1}）" if len(rows) > ROWS_PER_PAGE else ""
        if start + ROWS_PER_PAGE >= len(shown) and len(rows) > len(shown):
            more += f"，仅列前 {len(shown)} 条，共 {len(rows)} 条，完整清单见 XLSX"
        fig = _page(report, t.title + more)
        ax = fig.add_subplot()
        ax.axis("off")
        cells = [row_texts(t, r) for r in chunk] if t.rows else [["无"] * len(headers(t))]
        if t.key == "alarms":
            cells = [[c if len(c) <= 40 else c[:39] + "…" for c in line] for line in cells]
        tab = ax.table(cellText=cells, colLabels=headers(t), loc="upper center", cellLoc="center")
        tab.auto_set_font_size(False)
        tab.set_fontsize(8)
        tab.auto_set_column_width(list(range(len(headers(t)))))
        tab.scale(1, 1.45)
        for (r, _), cell in tab.get_celld().items():
            cell.set_edgecolor("#c8d1dc")
            if r == 0:
                cell.set_facecolor("#1f4e79")
                cell.get_text().set_color("white")
                cell.get_text().set_fontweight("bold")
            elif r % 2 == 0:
                cell.set_facecolor("#f3f6fa")
        pages.append(fig)
    return pages


def render_pdf(report: Report) -> bytes:
    from matplotlib.backends.backend_pdf import PdfPages

    charts.setup()
    figs = []
    first = _page(report, f"生成时间 {report.made:%Y-%m-%d %H:%M}")
    top, bottom = first.subfigures(2, 1, height_ratios=[1, 2.4])
    _cards(report, top)
    charts.hourly(report, bottom)
    figs.append(first)
    for title, draw in (("等候", charts.waits), ("窗口", charts.windows)):
        page = _page(report, title)
        draw(report, page.subfigures(1, 1))
        figs.append(page)
    if report.charts["trend"]:
        page = _page(report, "趋势")
        charts.trend(report, page.subfigures(1, 1))
        figs.append(page)
    page = _page(report, "告警")
    charts.alarms(report, page.subfigures(1, 1))
    figs.append(page)
    for key in PDF_TABLES:
        if any(t.key == key for t in report.tables):
            figs += _table_pages(report, report.table(key))
    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": report.title, "Creator": "hallctl"}) as pdf:
        for fig in figs:
            pdf.savefig(fig)
    return buf.getvalue()
