"""How a KPI value is written in a cell: by its unit, the same in every format."""

from __future__ import annotations

from typing import Any

from hallctl.supervision.definitions import KPIS, header
from hallctl.supervision.report import Table

SEVERITY_ZH = {"info": "提示", "warning": "一般", "critical": "严重"}
KIND_ZH = {
    "long_wait": "等候超时",
    "bad_review": "差评",
    "unattended_window": "窗口无人",
    "cover_requested": "AB岗顶岗",
    "late_arrival": "迟到",
    "staff_left_with_queue": "离岗有人等",
    "service_overtime": "办理超时",
    "line_too_long": "排队过长",
    "idle_with_waiting": "窗口空闲有人等",
    "long_pause": "暂停过长",
    "gaming": "疑似刷号",
    "outside_hours": "非办公时间办理",
    "case_overdue": "差评整改超期",
}


def unit(table: Table, key: str) -> str:
    if table.key in ("cases", "alarms") and key in ("followed_up",):
        return "text"
    return KPIS[key].unit if key in KPIS else "text"


def text(table: Table, key: str, value: Any) -> str:
    """The value as text (text, CSV, HTML and PDF cells)."""
    if value is None:
        return "—"
    u = unit(table, key)
    if u == "share":
        return f"{value * 100:.2f}%"
    if u in ("minutes", "hours"):
        return f"{value:.2f}"
    if u == "count" and isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "kind":
        return KIND_ZH.get(str(value), str(value))
    if key == "severity":
        return SEVERITY_ZH.get(str(value), str(value))
    if key in ("raised", "cleared") and isinstance(value, str):
        return value.replace("T", " ")
    return str(value)


def headers(table: Table) -> list[str]:
    return [header(k, table.key) for k in table.dims + table.columns]


def row_texts(table: Table, row: dict[str, Any]) -> list[str]:
    return [text(table, k, row.get(k)) for k in table.dims + table.columns]
