"""The HTML report: one self-contained page (inline CSS, charts as inline SVG with text drawn as
paths), so it opens offline on any PC in the hall and prints well."""

from __future__ import annotations

import io
from html import escape
from typing import Any

from hallctl.supervision import charts
from hallctl.supervision.cells import headers, row_texts, text
from hallctl.supervision.definitions import KPIS, header
from hallctl.supervision.report import Report, Table

CARDS = ["issued", "served", "wait_mean", "wait_within_target", "service_mean", "on_spot_rate",
         "eval_rate", "satisfaction", "bad_reviews", "alarms"]  # fmt: skip

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
  margin:0;background:#f4f6f9;color:#1c2833}
header{background:#1f4e79;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85;font-size:13px}
main{padding:16px 28px;max-width:1400px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:#fff;border-radius:6px;padding:10px 14px;box-shadow:0 1px 2px #0002}
.card b{display:block;font-size:22px;color:#1f4e79;margin-top:2px}
.card span{font-size:13px;color:#555}
section{background:#fff;border-radius:6px;padding:12px 16px;margin:14px 0;
  box-shadow:0 1px 2px #0002}
h2{font-size:17px;margin:4px 0 10px;color:#1f4e79}
.chart svg{width:100%;height:auto}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;white-space:nowrap}
th{background:#1f4e79;color:#fff;font-weight:600;padding:6px 8px;position:sticky;top:0}
td{padding:4px 8px;border-bottom:1px solid #e3e7ec}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#f8fafc}
footer{font-size:12px;color:#666;padding:0 28px 24px}
@media print{body{background:#fff} section,.card{box-shadow:none;border:1px solid #ccc}}
"""


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


MAX_ROWS = 500  # per table; the XLSX has them all


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers(table))
    body = []
    n_dims = len(table.dims)
    for row in table.rows[:MAX_ROWS]:
        cells = row_texts(table, row)
        body.append(
            "<tr>"
            + "".join(
                f'<td class="n">{escape(c)}</td>' if i >= n_dims and _numeric(c) else
                f"<td>{escape(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )  # fmt: skip
    span = len(headers(table))
    if not body:
        body = [f'<tr><td colspan="{span}">无</td></tr>']
    if len(table.rows) > MAX_ROWS:
        body.append(f'<tr><td colspan="{span}">仅列前 {MAX_ROWS} 条，共 {len(table.rows)} 条，'
                    "完整清单见 XLSX</td></tr>")  # fmt: skip
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _transposed(table: Table) -> Table:
    """The one-row summary as 指标 | 数值 rows, readable without scrolling."""
    row = table.rows[0]
    rows = [{"metric": header(k), "value": text(table, k, row.get(k))} for k in table.columns]
    return Table("summary_rows", table.title, ["metric"], ["value"], rows)


def _numeric(cell: str) -> bool:
    return cell[:1].isdigit() or cell == "—"


def render_html(report: Report) -> str:
    summary = report.table("summary")
    row = summary.rows[0]
    cards = "".join(
        f'<div class="card"><span>{escape(KPIS[k].zh)}</span>'
        f"<b>{escape(text(summary, k, row.get(k)))}</b></div>"
        for k in CARDS
    )
    parts = [
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{escape(report.title)}</h1>",
        f"<p>生成时间 {report.made:%Y-%m-%d %H:%M} · hallctl</p></header><main>",
        f'<div class="cards">{cards}</div>',
    ]
    titles = {"hourly": "时段", "waits": "等候分布", "windows": "窗口", "trend": "趋势",
              "alarms": "告警时间轴"}  # fmt: skip
    for key, fig in charts.all_charts(report):
        parts.append(f'<section class="chart" id="chart-{key}"><h2>{titles[key]}</h2>')
        parts.append(_svg(fig) + "</section>")
    for table in report.tables:
        parts.append(f'<section id="{table.key}"><h2>{escape(table.title)}</h2>')
        parts.append(_table(_transposed(table) if table.key == "summary" else table))
        parts.append("</section>")
    parts.append("</main><footer>指标口径见“说明”及 docs/reports.md。</footer></body></html>")
    return "\n".join(parts)
