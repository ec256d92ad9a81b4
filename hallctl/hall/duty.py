"""Staff on duty (考勤 / AB岗 / 挂牌上岗): who is at which window, and the alarms around it.

Pure like the rest of the core: it reads the state and the time and emits events through the
hall. Checked every tick when ``duty.enabled``:

- **unattended window**: a window open for ``unattended_grace_min`` while the staff serving it
  is not checked in (or checked out that long ago);
- **AB岗 cover**: a window's A staff absent ``cover_after_min`` into the working day (or since
  checking out) while a B who covers that window is checked in and free: B is asked to cover;
- **late arrival**: an A staff with no check-in ``late_grace_min`` after the day's start.

On check-out, a person who leaves services waiting that no other attended open window serves
raises an alarm at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hallctl.hall.core import Hall, Outcome


def _day_start(hall: Hall, now: datetime) -> float | None:
    """Today's first working minute, or None outside working hours."""
    local = now.astimezone(hall.config.hall.tz)
    ranges = hall.config.duty.schedule or hall.config.hall.hours
    if not ranges:
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    if not any(r.contains(local.time()) for r in ranges):
        return None
    first = min(r.start for r in ranges)
    return local.replace(hour=first.hour, minute=first.minute, second=0, microsecond=0).timestamp()


def _raise(hall: Hall, out: Outcome, at: float, key: str, kind: str, **data: Any) -> None:
    if key not in hall.state.alarms:
        hall._emit(out, "alarm.raised", {"alarm": key, "kind": kind, "scope": "day", **data}, at)


def _clear(hall: Hall, out: Outcome, at: float, key: str) -> None:
    alarm = hall.state.alarms.get(key)
    if alarm is not None:
        hall._emit(out, "alarm.cleared", {"alarm": key, "kind": alarm["kind"]}, at)


def check(hall: Hall, out: Outcome, now: datetime, at: float) -> None:
    duty = hall.config.duty
    s = hall.state
    start = _day_start(hall, now)
    busy = {w.staff for w in s.windows.values() if w.status != "closed" and w.staff}
    for wc in hall.config.windows:
        w = s.window(wc.number)
        key = f"unattended:{wc.number}"
        staff = w.staff
        present = staff is not None and staff in s.staff_on_duty
        if w.status == "closed" or present or start is None:
            _clear(hall, out, at, key)
        else:
            since = max(w.opened_at, s.checked_out_at.get(staff or "", 0.0))
            if at - since >= duty.unattended_grace_min * 60:
                name = hall.staff_name(staff)
                _raise(
                    hall,
                    out,
                    at,
                    key,
                    "unattended_window",
                    window=wc.number,
                    staff=staff,
                    message=f"{wc.display_name}开放但无人在岗"
                    + (f"（{name}未签到）" if name else ""),
                )
        a = wc.default_staff
        if start is None or a is None or a in s.staff_on_duty:
            continue
        absent_since = max(start, s.checked_out_at.get(a, 0.0))
        if at - absent_since >= duty.cover_after_min * 60:
            cover = next(
                (
                    p.id
                    for p in hall.config.staff
                    if p.role == "B"
                    and wc.number in p.windows
                    and p.id in s.staff_on_duty
                    and p.id not in busy
                ),
                None,
            )
            if cover is not None:
                _raise(
                    hall,
                    out,
                    at,
                    f"cover:{wc.number}",
                    "cover_requested",
                    window=wc.number,
                    absent=a,
                    cover=cover,
                    message=f"{hall.staff_name(a)}缺岗，请{hall.staff_name(cover)}到"
                    f"{wc.display_name}顶岗（AB岗）",
                )
                busy.add(cover)
    if start is not None and at - start >= duty.late_grace_min * 60:
        for p in hall.config.staff:
            if p.role == "A" and p.windows and p.id not in s.first_check_in:
                _raise(
                    hall,
                    out,
                    at,
                    f"late:{p.id}",
                    "late_arrival",
                    staff=p.id,
                    message=f"{p.name}（工号{p.staff_no}）未按时签到",
                )


def on_check_in(hall: Hall, out: Outcome, staff: str, at: float) -> None:
    """The person's window shows them again (挂牌上岗); their alarms are settled."""
    s = hall.state
    for wc in hall.config.windows:
        w = s.window(wc.number)
        if w.status != "closed" and w.staff is None and wc.default_staff == staff:
            hall._staff_changed(out, wc.number, staff, at)
        if w.staff == staff:
            _clear(hall, out, at, f"unattended:{wc.number}")
        if wc.default_staff == staff:
            _clear(hall, out, at, f"cover:{wc.number}")
    _clear(hall, out, at, f"late:{staff}")


def on_check_out(hall: Hall, out: Outcome, staff: str, at: float) -> None:
    """Leaving while citizens wait for services nobody else attended is serving: alarm."""
    if not hall.config.duty.enabled:
        return
    s = hall.state
    attended = {
        ws.service
        for wc in hall.config.windows
        for ws in wc.services
        if s.window(wc.number).status == "open"
        and s.window(wc.number).staff not in (None, staff)
        and s.window(wc.number).staff in s.staff_on_duty
    }
    mine = {
        ws.service
        for wc in hall.config.windows
        if s.window(wc.number).staff == staff
        for ws in wc.services
    }
    stranded = sorted(
        code for code in mine - attended if code in s.lines and len(s.lines[code]) > 0
    )
    if stranded:
        _raise(
            hall,
            out,
            at,
            f"left_with_queue:{staff}",
            "staff_left_with_queue",
            staff=staff,
            services=stranded,
            message=f"{hall.staff_name(staff)}已签退，仍有群众等候：{'、'.join(stranded)}",
        )
