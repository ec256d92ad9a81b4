"""Report as text (terminal), CSV (one section per table) and XLSX (one sheet per table)."""

from __future__ import annotations

import csv
import io
from typing import Any

from hallctl.cli_output import pad, width
from hallctl.supervision.cells import headers, row_texts, text, unit
from hallctl.supervision.definitions import KPIS, header
from hallctl.supervision.report import Report, Table

# the terminal gets the columns a supervisor scans first; CSV/XLSX get every column
BRIEF: dict[str, list[str]] = {
    "by_service": ["issued", "served", "no_show", "wait_mean", "wait_p90", "wait_within_target",
                   "service_mean", "on_spot_rate", "eval_rate", "satisfaction", "bad_reviews"],
    "by_window": ["served", "no_show", "service_mean", "service_over_limit", "eval_rate",
                  "satisfaction", "open_h", "idle_h", "paused_h", "utilisation"],
    "by_staff": ["served", "service_mean", "eval_rate", "satisfaction", "bad_reviews",
                 "days_present", "late_days", "absent_days", "cover"],
    "by_day": ["issued", "served", "wait_mean", "eval_rate", "satisfaction", "bad_reviews"],
}  # fmt: skip


def brief(table: Table) -> Table:
    cols = BRIEF.get(table.key)
    if cols is None:
        return table
    return Table(table.key, table.title, table.dims, [c for c in cols if c in table.columns],
                 table.rows)  # fmt: skip


def render_text(report: Report) -> str:
    out = [report.title, f"生成时间 {report.made:%Y-%m-%d %H:%M}", ""]
    summary = report.table("summary")
    row = summary.rows[0]
    out.append("【总览】")
    for key in summary.columns:
        out.append(f"  {pad(header(key), 16)} {row_texts(_one(summary, key), row)[0]}")
    for table in report.tables[1:]:
        out += ["", f"【{table.title}】"]
        if not table.rows:
            out.append("  （无）")
            continue
        t = brief(table)
        grid = [headers(t)] + [row_texts(t, r) for r in t.rows]
        widths = [max(width(line[i]) for line in grid) for i in range(len(grid[0]))]
        for line in grid:
            cells = [
                pad(v, w, right=i >= len(t.dims))
                for i, (v, w) in enumerate(zip(line, widths, strict=True))
            ]
            out.append("  " + "  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def _one(table: Table, key: str) -> Table:
    return Table(table.key, table.title, [], [key], table.rows)


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([report.title])
    for table in report.tables:
        w.writerow([])
        w.writerow([f"# {table.title}"])
        w.writerow(headers(table))
        for row in table.rows:
            w.writerow(row_texts(table, row))
    return buf.getvalue()


def render_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    info = wb.active
    assert info is not None
    info.title = "说明"
    info.append([report.title])
    info["A1"].font = Font(bold=True, size=14)
    info.append(["统计区间", f"{report.first.isoformat()} 至 {report.last.isoformat()}"])
    info.append(["生成时间", report.made.strftime("%Y-%m-%d %H:%M")])
    info.append([])
    info.append(["指标", "中文名", "计算方法"])
    for k in KPIS.values():
        info.append([k.key, k.zh, k.formula])
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 16
    info.column_dimensions["C"].width = 90
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1F4E79")
    for table in report.tables:
        ws = wb.create_sheet(table.title)
        ws.append(headers(table))
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        keys = table.dims + table.columns
        for row in table.rows:
            ws.append([_xlsx_value(table, k, row.get(k)) for k in keys])
        for i, key in enumerate(keys, start=1):
            u = unit(table, key)
            fmt = {"share": "0.00%", "minutes": "0.00", "hours": "0.00"}.get(u)
            letter = get_column_letter(i)
            if fmt:
                for cell in ws[letter][1:]:
                    cell.number_format = fmt
            longest = max([width(str(ws.cell(1, i).value))] + [
                width(str(c.value)) for c in ws[letter][1:50] if c.value is not None
            ])  # fmt: skip
            ws.column_dimensions[letter].width = min(60, max(8, longest + 2))
        ws.freeze_panes = ws.cell(2, len(table.dims) + 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_value(table: Table, key: str, value: Any) -> Any:
    """Numbers stay numbers (Excel sums and sorts them); labels as the text cells show them."""
    if value is None or isinstance(value, (bool, str)):
        return None if value is None else text(table, key, value)
    return value
