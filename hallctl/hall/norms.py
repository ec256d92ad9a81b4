"""Service norms (电子监察): live alarms the hall raises and clears as time and events pass.

Pure like the rest of the core; checked on every ``tick``. Each norm alarm carries a ``kind``,
a ``scope`` (window / service / staff / hall), a ``severity``, and clears itself once its
condition is over. Any alarm can be acknowledged (who, when, note) with ``acknowledge_alarm``;
the acknowledgement is an event, so it survives restarts like the alarm itself.

- ``service_overtime`` 办理超时: a ticket at a window longer than its service's limit;
- ``line_too_long``: more people waiting in a service's line than its limit;
- ``idle_with_waiting`` 窗口空闲有人等: an open window with nobody at it for N minutes while its
  services have people waiting (counted from the later of "window free" and the wait of the
  ticket at the head of its line);
- ``long_pause``: a window paused longer than N minutes;
- ``gaming`` 刷号: N no-shows, each dropped within seconds of its call, inside a span of minutes;
- ``outside_hours``: a window with a ticket in hand outside the hall's opening hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hallctl.hall.errors import HallError
from hallctl.hall.state import CALLED, SERVING

if TYPE_CHECKING:
    from hallctl.hall import commands as c
    from hallctl.hall.core import Hall, Outcome

# kind → (scope, severity); alarms raised before norms existed carry no severity: this fills it
ALARM_KINDS: dict[str, tuple[str, str]] = {
    "long_wait": ("service", "warning"),
    "bad_review": ("window", "warning"),
    "unattended_window": ("window", "critical"),
    "cover_requested": ("window", "info"),
    "late_arrival": ("staff", "warning"),
    "staff_left_with_queue": ("staff", "critical"),
    "service_overtime": ("window", "warning"),
    "line_too_long": ("service", "warning"),
    "idle_with_waiting": ("window", "critical"),
    "long_pause": ("window", "warning"),
    "gaming": ("window", "critical"),
    "outside_hours": ("window", "warning"),
    "case_overdue": ("staff", "critical"),
}
SEVERITIES = ("info", "warning", "critical")


def severity(alarm: dict[str, Any]) -> str:
    return str(alarm.get("severity") or ALARM_KINDS.get(alarm.get("kind", ""), ("", "warning"))[1])


def raise_alarm(hall: Hall, out: Outcome, at: float, key: str, kind: str, **data: Any) -> None:
    if key in hall.state.alarms:
        return
    scope, sev = ALARM_KINDS[kind]
    payload = {"alarm": key, "kind": kind, "scope": scope, "severity": sev, **data}
    hall._emit(out, "alarm.raised", payload, at)


def clear_alarm(hall: Hall, out: Outcome, at: float, key: str) -> None:
    alarm = hall.state.alarms.get(key)
    if alarm is not None:
        hall._emit(out, "alarm.cleared", {"alarm": key, "kind": alarm["kind"]}, at)


NORM_KINDS = frozenset(
    {"service_overtime", "idle_with_waiting", "long_pause", "gaming", "outside_hours",
     "line_too_long"}
)  # fmt: skip


def _clear_all_but(hall: Hall, out: Outcome, at: float, keep: set[str]) -> None:
    """Clear every norm alarm whose condition no longer holds (one pass over the alarms)."""
    stale = [
        key
        for key, alarm in hall.state.alarms.items()
        if alarm.get("kind") in NORM_KINDS and key not in keep
    ]
    for key in stale:
        clear_alarm(hall, out, at, key)


def check(hall: Hall, out: Outcome, now: datetime, at: float) -> None:
    norms = hall.config.supervision.norms
    s = hall.state
    overtime: set[str] = set()
    idle: set[str] = set()
    paused: set[str] = set()
    gaming: set[str] = set()
    outside: set[str] = set()
    local = now.astimezone(hall.config.hall.tz).time()
    hours = hall.config.hall.hours
    in_hours = not hours or any(r.contains(local) for r in hours)
    # the longest wait of a line is at the head of one of its class queues (arrival order);
    # looking at the heads keeps a tick O(windows + services) on a 20,000-ticket day
    oldest: dict[str, float] = {}
    for code, line in s.lines.items():
        heads = [s.tickets[q[0][1]].waiting_since for q in line.queues.values() if q]
        if heads:
            oldest[code] = min(heads)
    for wc in hall.config.windows:
        w = s.window(wc.number)
        name = wc.display_name
        t = s.tickets.get(w.current) if w.current else None
        if t is not None and t.state in (CALLED, SERVING):
            limit = norms.service_limit(t.service)
            start = t.served_at or t.called_at
            key = f"service_overtime:{t.number}"
            if limit is not None and start is not None and at - start > limit * 60:
                overtime.add(key)
                raise_alarm(
                    hall, out, at, key, "service_overtime",
                    window=wc.number, ticket=t.number, service=t.service, staff=w.staff,
                    limit_min=limit, message=f"{name} {t.number} 办理超过 {limit:g} 分钟",
                )  # fmt: skip
            if not in_hours and norms.outside_hours:
                key = f"outside_hours:{wc.number}"
                outside.add(key)
                raise_alarm(
                    hall, out, at, key, "outside_hours", window=wc.number, staff=w.staff,
                    ticket=t.number, message=f"{name}在非办公时间办理业务",
                )  # fmt: skip
        free = s.norms.free_since.get(wc.number)
        if norms.idle_with_waiting_min is not None and free is not None:
            first = [oldest[ws.service] for ws in wc.services if ws.service in oldest]
            if first and at - max(free, min(first)) >= norms.idle_with_waiting_min * 60:
                key = f"idle_with_waiting:{wc.number}"
                idle.add(key)
                raise_alarm(
                    hall, out, at, key, "idle_with_waiting", window=wc.number, staff=w.staff,
                    limit_min=norms.idle_with_waiting_min,
                    message=f"{name}空闲超过 {norms.idle_with_waiting_min:g} 分钟，仍有群众等候",
                )  # fmt: skip
        paused_at = s.norms.paused_since.get(wc.number)
        pause_limit = norms.pause_limit_min
        if pause_limit is not None and paused_at is not None and at - paused_at >= pause_limit * 60:
            key = f"long_pause:{wc.number}"
            paused.add(key)
            raise_alarm(
                hall, out, at, key, "long_pause", window=wc.number, staff=w.staff,
                reason=w.pause_reason, limit_min=pause_limit,
                message=f"{name}暂停超过 {pause_limit:g} 分钟",
            )  # fmt: skip
        g = norms.gaming
        if g is not None:
            quick = [
                a
                for a, d in s.norms.no_shows.get(wc.number, ())
                if d <= g.within_s and at - a <= g.span_min * 60
            ]
            if len(quick) >= g.no_shows:
                key = f"gaming:{wc.number}"
                gaming.add(key)
                raise_alarm(
                    hall, out, at, key, "gaming", window=wc.number, staff=w.staff,
                    no_shows=len(quick),
                    message=f"{name} {g.span_min} 分钟内 {len(quick)} 个号码叫号后"
                    f" {g.within_s} 秒内即过号，疑似刷号",
                )  # fmt: skip
    long_lines: set[str] = set()
    for svc in hall.config.services:
        limit = norms.line_limit_for(svc.code)
        queue = s.lines.get(svc.code)
        n = len(queue) if queue is not None else 0
        if limit is not None and n > limit:
            key = f"line_too_long:{svc.code}"
            long_lines.add(key)
            raise_alarm(
                hall, out, at, key, "line_too_long", service=svc.code, waiting=n,
                limit=limit, message=f"{svc.name}等候 {n} 人，超过 {limit} 人",
            )  # fmt: skip
    _clear_all_but(hall, out, at, overtime | idle | paused | gaming | outside | long_lines)


def acknowledge(
    hall: Hall, cmd: c.AcknowledgeAlarm, out: Outcome, now: datetime, at: float
) -> None:
    alarm = hall.state.alarms.get(cmd.alarm)
    if alarm is None:
        raise HallError("unknown_alarm", cmd.alarm)
    if "ack" in alarm:
        raise HallError("already_acknowledged", cmd.alarm)
    data = {
        "alarm": cmd.alarm,
        "kind": alarm["kind"],
        "by": cmd.by,
        "note": cmd.note,
        "at": now.astimezone(hall.config.hall.tz).isoformat(timespec="seconds"),
    }
    hall._emit(out, "alarm.acknowledged", data, at)
    out.result = data
