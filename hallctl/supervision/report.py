"""A report: the tables (and chart series) of one day, week or month, from the stored facts.

Every output format renders the same ``Report``; headers come from ``definitions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np

from hallctl.config.models import HallConfig
from hallctl.hall.workdays import is_working_day
from hallctl.supervision.facts import SERVED, DayFacts, WindowTime
from hallctl.supervision.kpi import TICKET_KPIS, Merged, TicketSet, merge, select
from hallctl.supervision.store import FactStore

Period = Literal["day", "week", "month", "range"]
PERIOD_ZH = {"day": "日报", "week": "周报", "month": "月报", "range": "报表"}
DETAIL_DAYS = 7  # up to a week the alarm list is read; longer ranges read alarm counts
WINDOW_TICKET_KPIS = [
    "called", "served", "no_show", "transferred", "suspended", "wait_mean", "service_mean",
    "service_p90", "service_over_limit", "evaluated", "eval_rate", "satisfaction", "bad_reviews",
]  # fmt: skip
WINDOW_TIME_KPIS = ["open_h", "busy_h", "idle_h", "paused_h", "utilisation"]
STAFF_KPIS = [
    "served", "no_show", "service_mean", "service_over_limit", "evaluated", "eval_rate",
    "satisfaction", "bad_reviews", "days_present", "late_days", "absent_days", "cover",
]  # fmt: skip
HOUR_KPIS = ["issued", "served", "open_windows", "wait_mean", "wait_p90", "satisfaction"]
DAY_KPIS = ["issued", "served", "no_show", "wait_mean", "service_mean", "eval_rate",
            "satisfaction", "bad_reviews"]  # fmt: skip
CASE_KPIS = ["cases", "followed_up", "follow_up_rate", "closed_on_time", "on_time_rate", "overdue"]


@dataclass
class Table:
    key: str
    title: str
    dims: list[str]  # leading columns that name the row (业务, 窗口, …)
    columns: list[str]  # KPI keys, or plain field names for lists
    rows: list[dict[str, Any]]


@dataclass
class Report:
    hall_id: str
    hall_name: str
    period: Period
    first: date
    last: date
    made: datetime
    scope: str  # "" or e.g. "窗口 5"
    tables: list[Table] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        span = (
            self.first.isoformat()
            if self.first == self.last
            else f"{self.first.isoformat()} 至 {self.last.isoformat()}"
        )
        scope = f"（{self.scope}）" if self.scope else ""
        return f"{self.hall_name} 电子监察{PERIOD_ZH[self.period]} {span}{scope}"

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def period_range(period: Period, day: date) -> tuple[date, date]:
    if period == "day":
        return day, day
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


@dataclass(frozen=True)
class Scope:
    window: int | None = None
    staff: str | None = None
    service: str | None = None

    def label(self, config: HallConfig) -> str:
        if self.window is not None:
            return config.window(self.window).display_name
        if self.staff is not None:
            return next((p.name for p in config.staff if p.id == self.staff), self.staff)
        if self.service is not None:
            return config.service(self.service).name
        return ""


def build(
    config: HallConfig,
    store: FactStore,
    period: Period,
    day: date,
    scope: Scope = Scope(),
    made: datetime | None = None,
    until: date | None = None,
) -> Report:
    """The report of the period containing ``day`` (``range``: from ``day`` to ``until``)."""
    if period == "range":
        if until is None or until < day:
            raise ValueError("a range needs an end on or after its start")
        first, last = day, until
    else:
        first, last = period_range(period, day)
    latest = store.latest_day()
    if latest is not None:
        last = min(last, max(first, date.fromisoformat(latest)))
    days = store.days(first, last, alarms=_detailed(first, last))
    later = store.case_progress_after(last)
    made = made or datetime.now(config.hall.tz)
    return compute(config, days, later, period, first, last, scope, made)


def compute(
    config: HallConfig,
    days: list[DayFacts],
    later: list[dict[str, list[Any]]],
    period: Period,
    first: date,
    last: date,
    scope: Scope,
    made: datetime,
) -> Report:
    m = merge(config, days)
    cols = m.cols
    if scope.window is not None:
        cols = select(cols, cols["window"] == scope.window)
    if scope.staff is not None:
        idx = m.staff.index(scope.staff) if scope.staff in m.staff else -2
        cols = select(cols, cols["staff"] == idx)
    if scope.service is not None:
        idx = m.services.index(scope.service) if scope.service in m.services else -2
        cols = select(cols, cols["service"] == idx)
    r = Report(config.hall.id, config.hall.name, period, first, last, made, scope.label(config))
    names = {s.code: s.name for s in config.services}
    staff_names = {p.id: p.name for p in config.staff}
    window_names = {w.number: w.display_name for w in config.windows}

    ts = TicketSet(cols, m.thresholds)
    hall = ts.kpis(None)[0]
    cases = case_kpis(days, later, made.date(), scope, config)
    counts = alarm_counts(days, scope)
    hall.update(cases)
    hall["alarms"] = sum(n for n, _ in counts.values())
    hall["acknowledged"] = sum(a for _, a in counts.values())
    r.tables.append(
        Table("summary", "总览", [], [*TICKET_KPIS, *CASE_KPIS, "alarms", "acknowledged"], [hall])
    )
    r.tables.append(
        Table(
            "by_service", "按业务", ["service"], TICKET_KPIS,
            [{"service": names.get(m.services[k], m.services[k]), **v}
             for k, v in ts.kpis("service").items()],
        )
    )  # fmt: skip
    times = window_times(days)
    by_window = ts.kpis("window", ("service",))
    rows = []
    for k in sorted(set(by_window) | set(times)):
        if k < 0:
            continue
        if scope != Scope() and k not in by_window and k != scope.window:
            continue
        kpis = _pick(by_window.get(k) or _empty(ts), WINDOW_TICKET_KPIS)
        wt = time_kpis(times.get(k, WindowTime()))
        rows.append({"window": window_names.get(k, str(k)), **kpis, **wt})
    r.tables.append(
        Table("by_window", "按窗口", ["window"], WINDOW_TICKET_KPIS + WINDOW_TIME_KPIS, rows)
    )
    attendance = attendance_kpis(config, days)
    rows = []
    for k, v in ts.kpis("staff", ()).items():
        if k < 0:
            continue
        pid = m.staff[k]
        rows.append({"staff": staff_names.get(pid, pid), **_pick(v, STAFF_KPIS),
                     **attendance.pop(pid, _no_attendance())})  # fmt: skip
    if scope.window is None and scope.service is None:
        for pid, att in attendance.items():
            if scope.staff in (None, pid):
                rows.append({"staff": staff_names.get(pid, pid), **att})
    r.tables.append(Table("by_staff", "按人员", ["staff"], STAFF_KPIS, rows))
    r.tables.append(Table("by_hour", "按时段", ["hour"], HOUR_KPIS, hour_rows(ts, days)))
    if period != "day":
        by_day = ts.kpis("day", ())
        rows = [
            {"day": d.day, **_pick(by_day.get(i) or _empty(ts), DAY_KPIS)}
            for i, d in enumerate(days)
        ]
        r.tables.append(Table("by_day", "按日", ["day"], DAY_KPIS, rows))
    r.tables.append(
        Table("cases", "差评整改", [], ["case", "window", "staff", "level", "reason", "due",
              "followed_up", "closed", "on_time"], case_rows(days, later, staff_names, scope))
    )  # fmt: skip
    r.tables.append(
        Table("alarm_kinds", "告警统计", ["kind"], ["alarms", "acknowledged"],
              [{"kind": k, "alarms": n, "acknowledged": a}
               for k, (n, a) in sorted(counts.items(), key=lambda kv: -kv[1][0])])
    )  # fmt: skip
    if _detailed(first, last):
        r.tables.append(
            Table("alarms", "告警明细", [], ["raised", "cleared", "kind", "severity", "message",
                  "ack_by"], alarm_rows(days, scope))
        )  # fmt: skip
    r.charts = chart_series(config, m, ts, r, days, scope)
    return r


def _detailed(first: date, last: date) -> bool:
    return (last - first).days < DETAIL_DAYS


def _pick(d: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: d[k] for k in keys if k in d}


def _empty(ts: TicketSet) -> dict[str, Any]:
    none = select(ts.cols, np.zeros(ts.n, dtype=bool))
    return TicketSet(none, ts.thresholds).kpis(None)[0]


def window_times(days: list[DayFacts]) -> dict[int, WindowTime]:
    out: dict[int, WindowTime] = {}
    for d in days:
        for n, t in d.windows.items():
            acc = out.setdefault(n, WindowTime())
            acc.open_s += t.open_s
            acc.paused_s += t.paused_s
            acc.idle_s += t.idle_s
            acc.busy_s += t.busy_s
    return out


def time_kpis(t: WindowTime) -> dict[str, Any]:
    active = t.open_s - t.paused_s
    return {
        "open_h": t.open_s / 3600,
        "busy_h": t.busy_s / 3600,
        "idle_h": t.idle_s / 3600,
        "paused_h": t.paused_s / 3600,
        "utilisation": t.busy_s / active if active > 0 else None,
    }


def _no_attendance() -> dict[str, Any]:
    return {"days_present": 0, "late_days": 0, "absent_days": 0, "cover": 0}


def attendance_kpis(config: HallConfig, days: list[DayFacts]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for p in config.staff:
        row = _no_attendance()
        for d in days:
            a = d.attendance.get(p.id)
            present = a is not None and "check_in" in a
            row["days_present"] += present
            row["late_days"] += bool(a and a.get("late"))
            row["cover"] += a["cover"] if a else 0
            working = is_working_day(date.fromisoformat(d.day), config.supervision.calendar)
            if p.role == "A" and p.windows and not present and working and len(d.tickets):
                row["absent_days"] += 1
        out[p.id] = row
    return out


def hour_rows(ts: TicketSet, days: list[DayFacts]) -> list[dict[str, Any]]:
    cols = ts.cols
    issued = np.bincount(cols["hour"].astype(np.int64), minlength=24)
    fh = cols["finish_hour"][cols["outcome"] == SERVED].astype(np.int64)
    served = np.bincount(fh[fh >= 0], minlength=24)
    open_s = np.sum([d.open_by_hour for d in days], axis=0) if days else np.zeros(24)
    groups = ts.kpis("hour", ("wait",))
    rows = []
    for h in range(24):
        if not issued[h] and not served[h] and not open_s[h]:
            continue
        k = groups.get(h, {})
        rows.append(
            {
                "hour": f"{h:02d}:00",
                "issued": int(issued[h]),
                "served": int(served[h]),
                "open_windows": float(open_s[h]) / 3600 / max(1, len(days)),
                "wait_mean": k.get("wait_mean"),
                "wait_p90": k.get("wait_p90"),
                "satisfaction": k.get("satisfaction"),
            }
        )
    return rows


def _case_in_scope(case: dict[str, Any], scope: Scope) -> bool:
    return (
        (scope.window is None or case.get("window") == scope.window)
        and (scope.staff is None or case.get("staff") == scope.staff)
        and (scope.service is None or case.get("service") == scope.service)
    )


def _case_progress(
    days: list[DayFacts], later: list[dict[str, list[Any]]]
) -> tuple[dict[str, str], dict[str, tuple[str, bool]]]:
    followed: dict[str, str] = {}
    closed: dict[str, tuple[str, bool]] = {}
    for cases in [*(d.cases for d in days), *later]:
        for case, day in cases.get("followed", []):
            followed.setdefault(case, day)
        for case, day, on_time in cases.get("closed", []):
            closed[case] = (day, on_time)
    return followed, closed


def case_kpis(
    days: list[DayFacts],
    later: list[dict[str, list[Any]]],
    today: date,
    scope: Scope,
    config: HallConfig,
) -> dict[str, Any]:
    followed, closed = _case_progress(days, later)
    opened = [c for d in days for c in d.cases.get("opened", []) if _case_in_scope(c, scope)]
    n = len(opened)
    n_followed = sum(1 for c in opened if c["case"] in followed)
    on_time = sum(1 for c in opened if closed.get(c["case"], ("", False))[1])
    overdue = sum(1 for c in opened if c["case"] not in closed and c["due"] < today.isoformat())
    return {
        "cases": n,
        "followed_up": n_followed,
        "follow_up_rate": n_followed / n if n else None,
        "closed_on_time": on_time,
        "on_time_rate": on_time / n if n else None,
        "overdue": overdue,
    }


def case_rows(
    days: list[DayFacts],
    later: list[dict[str, list[Any]]],
    names: dict[str, str],
    scope: Scope,
) -> list[dict[str, Any]]:
    followed, closed = _case_progress(days, later)
    rows = []
    for d in days:
        for c in d.cases.get("opened", []):
            if not _case_in_scope(c, scope):
                continue
            done = closed.get(c["case"])
            rows.append(
                {
                    "case": c["case"],
                    "window": c.get("window"),
                    "staff": names.get(c.get("staff") or "", c.get("staff")),
                    "level": c["level"],
                    "reason": c.get("reason"),
                    "due": c["due"],
                    "followed_up": followed.get(c["case"]),
                    "closed": done[0] if done else None,
                    "on_time": done[1] if done else None,
                }
            )
    return rows


def _alarm_in_scope(window: Any, staff: Any, service: Any, scope: Scope) -> bool:
    return (
        (scope.window is None or window == scope.window)
        and (scope.staff is None or staff == scope.staff)
        and (scope.service is None or service == scope.service)
    )


def alarm_counts(days: list[DayFacts], scope: Scope) -> dict[str, tuple[int, int]]:
    """Alarms raised and acknowledged per kind (from the stored counts, not the detail)."""
    out: dict[str, tuple[int, int]] = {}
    for d in days:
        for kind, window, staff, service, n, acked in d.alarm_counts:
            if _alarm_in_scope(window, staff, service, scope):
                have = out.get(kind, (0, 0))
                out[kind] = (have[0] + n, have[1] + acked)
    return out


def alarm_rows(days: list[DayFacts], scope: Scope) -> list[dict[str, Any]]:
    rows = []
    for d in days:
        rows += [
            a
            for a in d.alarms
            if _alarm_in_scope(a.get("window"), a.get("staff"), a.get("service"), scope)
        ]
    return rows


def chart_series(
    config: HallConfig, m: Merged, ts: TicketSet, r: Report, days: list[DayFacts], scope: Scope
) -> dict[str, Any]:
    """What the HTML/PDF charts draw (kept here so every renderer draws the same numbers)."""
    by_code = {s.code: s for s in config.services}
    stats = ts.wait_stats["service"]  # computed for the 按业务 table; indexes offset by one
    waits = []
    for i, code in enumerate(m.services, start=1):
        if i >= len(stats["median"]) or stats["median"][i] is None:
            continue
        svc = by_code.get(code)
        waits.append(
            {
                "service": svc.name if svc else code,
                "target": float(svc.target_wait_min if svc else 15),
                **{k: (stats[k][i] or 0.0) / 60 for k in ("p10", "p25", "median", "p75", "p90")},
            }
        )
    trend = []
    if r.period != "day":
        trend = [(d["day"], d.get("satisfaction"), d["served"]) for d in r.table("by_day").rows]
    return {
        "hours": [
            (h["hour"], h["issued"], h["served"], h["open_windows"])
            for h in r.table("by_hour").rows
        ],
        "waits": waits,
        "windows": [
            (w["window"], w["served"], w.get("service_mean"), w.get("satisfaction"))
            for w in r.table("by_window").rows
        ],
        "trend": trend,
        "alarms": [(a["raised"], a.get("cleared"), a["kind"]) for a in alarm_rows(days, scope)],
        "alarm_days": [
            (d.day, {k: n for k, (n, _) in alarm_counts([d], scope).items()}) for d in days
        ],
    }
