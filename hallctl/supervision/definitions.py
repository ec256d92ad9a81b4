# ruff: noqa: E501  (one KPI a line reads best as a table)
"""Every KPI once: its Chinese header, unit and formula. Every output (text, CSV, XLSX, HTML,
PDF, the ``report.daily`` event) takes headers from here; docs/reports.md is generated from it
(``python -m hallctl.supervision.definitions``) and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["count", "share", "minutes", "hours", "text"]


@dataclass(frozen=True, slots=True)
class Kpi:
    key: str
    zh: str
    unit: Unit
    formula: str


_ALL = [
    # -- tickets ---------------------------------------------------------------------------
    Kpi("issued", "取号数", "count", "tickets issued in the range (by the service they ended in)"),
    Kpi("called", "叫号数", "count", "tickets called at a window at least once"),
    Kpi("served", "办结数", "count", "tickets finished at a window (`ticket.finished`)"),
    Kpi("no_show", "过号数", "count", "tickets whose last state of the day is no-show (弃号)"),
    Kpi("open", "未办结", "count", "issued − served − no_show (waiting, at a window or suspended)"),
    Kpi("transferred", "转移数", "count", "tickets transferred to another service at least once"),
    Kpi("suspended", "挂起数", "count", "tickets suspended (挂起) at least once"),
    Kpi("wait_mean", "平均等候(分)", "minutes", "mean of wait over called tickets; wait = first call − issue"),
    Kpi("wait_median", "等候中位数(分)", "minutes", "median of wait (mean of the two middle values when even)"),
    Kpi("wait_p90", "等候P90(分)", "minutes", "nearest rank: the smallest wait w with ≥ 90 % of waits ≤ w"),
    Kpi("wait_within_target", "等候达标率", "share", "called tickets with wait ≤ their service's target_wait_min ÷ called"),
    Kpi("wait_over_limit", "超时等候率", "share", "called tickets with wait > their service's limit_wait_min ÷ called"),
    Kpi("service_mean", "平均办理(分)", "minutes", "mean of service time over served tickets; service time = finish − start of the finishing visit"),
    Kpi("service_p90", "办理P90(分)", "minutes", "nearest-rank 90th percentile of service time"),
    Kpi("service_over_limit", "办理超时率", "share", "served tickets with service time > the service's norm service_limit_min ÷ served"),
    Kpi("on_spot_rate", "现场办结率", "share", "served 即办件 ÷ 即办件 tickets called and not ending as no-show"),
    # -- evaluation ------------------------------------------------------------------------
    Kpi("evaluated", "评价数", "count", "served tickets with a recorded level"),
    Kpi("eval_rate", "参评率", "share", "evaluated ÷ served"),
    Kpi("satisfaction", "满意率", "share", "(非常满意 + 满意 + 基本满意) ÷ evaluated"),
    Kpi("level_5", "非常满意", "count", "evaluations at level 5"),
    Kpi("level_4", "满意", "count", "evaluations at level 4"),
    Kpi("level_3", "基本满意", "count", "evaluations at level 3"),
    Kpi("level_2", "不满意", "count", "evaluations at level 2"),
    Kpi("level_1", "非常不满意", "count", "evaluations at level 1"),
    Kpi("bad_reviews", "差评数", "count", "level_2 + level_1"),
    Kpi("timed_out", "超时未评", "count", "served tickets whose evaluation timed out"),
    Kpi("not_evaluated", "未评价", "count", "served − evaluated − timed_out"),
    # -- 差评 follow-up --------------------------------------------------------------------
    Kpi("cases", "差评整改件", "count", "cases opened in the range (one per bad review)"),
    Kpi("followed_up", "已回访", "count", "of those, cases followed up (回访) by the report's making"),
    Kpi("follow_up_rate", "回访率", "share", "followed_up ÷ cases"),
    Kpi("closed_on_time", "按时整改", "count", "of those, cases closed on or before their due working day"),
    Kpi("on_time_rate", "按时整改率", "share", "closed_on_time ÷ cases"),
    Kpi("overdue", "超期未整改", "count", "cases still open after their due day at the report's making"),
    # -- windows ---------------------------------------------------------------------------
    Kpi("open_h", "开放时长(时)", "hours", "time the window was open or paused"),
    Kpi("busy_h", "办理时长(时)", "hours", "time with a ticket in hand"),
    Kpi("idle_h", "空闲时长(时)", "hours", "open, not paused, no ticket in hand"),
    Kpi("paused_h", "暂停时长(时)", "hours", "time paused (暂停)"),
    Kpi("utilisation", "利用率", "share", "busy_h ÷ (open_h − paused_h)"),
    Kpi("open_windows", "平均开放窗口", "count", "window-hours open in that hour of day ÷ days"),
    # -- staff attendance ------------------------------------------------------------------
    Kpi("days_present", "出勤天数", "count", "days with a check-in"),
    Kpi("late_days", "迟到天数", "count", "days a late-arrival alarm was raised for the person"),
    Kpi("absent_days", "缺勤天数", "count", "working days in the range with tickets issued and no check-in (A岗 staff)"),
    Kpi("cover", "顶岗次数", "count", "times a B岗 person was put on a window (AB岗 cover)"),
    # -- alarms ----------------------------------------------------------------------------
    Kpi("alarms", "告警数", "count", "alarms raised"),
    Kpi("acknowledged", "已确认", "count", "of those, acknowledged"),
]
KPIS: dict[str, Kpi] = {k.key: k for k in _ALL}

DIMENSIONS: dict[str, str] = {
    "service": "业务",
    "window": "窗口",
    "staff": "工作人员",
    "hour": "时段",
    "day": "日期",
    "kind": "告警类型",
    # list tables (cases, alarms)
    "case": "整改件编号",
    "level": "评价等级",
    "reason": "差评原因",
    "due": "整改期限",
    "followed_up": "回访日期",
    "closed": "整改日期",
    "on_time": "按时",
    "raised": "告警时间",
    "cleared": "解除时间",
    "severity": "级别",
    "message": "内容",
    "ack_by": "确认人",
    "metric": "指标",
    "value": "数值",
}


def header(key: str, table: str = "") -> str:
    # list tables reuse a few KPI keys as plain fields (the cases table's "followed_up" date)
    if key in DIMENSIONS and (table in ("cases", "alarms") or key not in KPIS):
        return DIMENSIONS[key]
    return KPIS[key].zh if key in KPIS else key


def markdown_table() -> str:
    lines = ["| KPI | 中文 | unit | formula |", "|---|---|---|---|"]
    lines += [f"| `{k.key}` | {k.zh} | {k.unit} | {k.formula} |" for k in _ALL]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
