"""差评整改: every bad review opens a case that must be followed up (回访) and closed with a note
within N working days (default 15, the national 好差评 rule); an overdue case raises an alarm.

Cases outlive the day they were opened in (they are not day-scoped); the live state keeps the
open ones, the journal keeps them all, and the KPIs read the journal.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from hallctl.hall import norms
from hallctl.hall.errors import HallError
from hallctl.hall.workdays import add_working_days

if TYPE_CHECKING:
    from hallctl.hall import commands as c
    from hallctl.hall.core import Hall, Outcome
    from hallctl.hall.state import Ticket


def _today(hall: Hall, now: datetime) -> date:
    return now.astimezone(hall.config.hall.tz).date()


def open_for_bad_review(
    hall: Hall, out: Outcome, t: Ticket, evaluation: dict[str, Any], now: datetime, at: float
) -> str | None:
    """Open the case; its id (the evaluation's answer carries it, for the follow-up)."""
    sup = hall.config.supervision
    if not sup.follow_up.enabled:
        return None
    opened = _today(hall, now)
    due = add_working_days(opened, sup.follow_up.working_days, sup.calendar)
    data = {
        "case": f"{opened.isoformat()}-{t.number}",
        "ticket": t.number,
        "service": t.service,
        "window": evaluation.get("window"),
        "staff": evaluation.get("staff"),
        "level": evaluation["level"],
        "reason": evaluation.get("reason"),
        "case_no": evaluation.get("case_no"),
        "opened": opened.isoformat(),
        "due": due.isoformat(),
    }
    hall._emit(out, "case.opened", data, at)
    return str(data["case"])


def _case(hall: Hall, case: str) -> dict[str, Any]:
    found = hall.state.cases.get(case)
    if found is None:
        raise HallError("unknown_case", case)
    return found


def follow_up(hall: Hall, cmd: c.FollowUpCase, out: Outcome, now: datetime, at: float) -> None:
    _case(hall, cmd.case)
    data = {
        "case": cmd.case,
        "by": cmd.by,
        "note": cmd.note,
        "time": now.astimezone(hall.config.hall.tz).isoformat(timespec="seconds"),
    }
    hall._emit(out, "case.followed_up", data, at)
    out.result = data


def close(hall: Hall, cmd: c.CloseCase, out: Outcome, now: datetime, at: float) -> None:
    case = _case(hall, cmd.case)
    if not case["followed_up"]:
        raise HallError("not_followed_up", cmd.case)
    closed = _today(hall, now)
    data = {
        "case": cmd.case,
        "by": cmd.by,
        "note": cmd.note,
        "closed": closed.isoformat(),
        "due": case["due"],
        "on_time": closed.isoformat() <= case["due"],
        "staff": case.get("staff"),
        "window": case.get("window"),
    }
    hall._emit(out, "case.closed", data, at)
    norms.clear_alarm(hall, out, at, f"case_overdue:{cmd.case}")
    out.result = data


def check_overdue(hall: Hall, out: Outcome, now: datetime, at: float) -> None:
    today = _today(hall, now).isoformat()
    for key, case in list(hall.state.cases.items()):
        if today > case["due"]:
            norms.raise_alarm(
                hall, out, at, f"case_overdue:{key}", "case_overdue",
                case=key, ticket=case["ticket"], window=case.get("window"),
                staff=case.get("staff"), due=case["due"],
                message=f"差评 {case['ticket']}（{case['opened']}）"
                f"超过整改期限 {case['due']} 未办结",
            )  # fmt: skip
