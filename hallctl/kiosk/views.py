"""What a kiosk shows, read from the hall's state: guides, queues, a ticket's position.

Read-only and synchronous: called on the event loop between engine batches, so it sees one
consistent state and never blocks for long (a hall has tens of services, not thousands).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hallctl.config.models import ServiceConfig
from hallctl.hall.estimate import ahead_of
from hallctl.hall.state import WAITING
from hallctl.hall.views import service_view
from hallctl.kiosk.contract import (
    ClosedReason,
    QueueStatusResult,
    ServiceEntry,
    ServiceList,
    ServiceQueue,
    TicketPosition,
    WindowRef,
)

if TYPE_CHECKING:
    from hallctl.hall.core import Hall

STAFFED = ("open", "paused")  # a paused window (lunch, 暂停) comes back to its line


def _hours(hall: Hall, svc: ServiceConfig) -> list[str]:
    return [str(r) for r in (svc.hours or hall.config.hall.hours)]


def _windows(hall: Hall, code: str) -> list[WindowRef]:
    out = []
    for w in hall.config.windows:
        if any(ws.service == code for ws in w.services):
            status = hall.state.window(w.number).status
            out.append(WindowRef(window=w.number, name=w.display_name, status=status))
    return out


def closed_reason(
    hall: Hall, code: str, now: datetime, refuse_when_unstaffed: bool
) -> ClosedReason | None:
    """Why a ticket for this service cannot be taken now, or None when it can."""
    svc = hall.config.service(code)
    hours = svc.hours or hall.config.hall.hours
    local = now.astimezone(hall.config.hall.tz).time()
    if hours and not any(r.contains(local) for r in hours):
        return "outside_hours"
    if hall.state.issued.get(code, 0) >= svc.capacity:
        return "daily_cap_reached"
    if refuse_when_unstaffed and not any(w.status in STAFFED for w in _windows(hall, code)):
        return "service_closed"
    return None


def service_list(hall: Hall, now: datetime, refuse_when_unstaffed: bool) -> ServiceList:
    entries = []
    for svc in hall.config.services:
        view = service_view(hall, svc.code, now)
        reason = closed_reason(hall, svc.code, now, refuse_when_unstaffed)
        entries.append(
            ServiceEntry(
                service=svc.code,
                name=svc.name,
                name_en=svc.name_en,
                prefix=svc.prefix,
                description=svc.guide.description,
                materials=list(svc.guide.materials),
                fees=svc.guide.fees,
                kind=svc.kind,
                kind_zh="即办件" if svc.kind == "immediate" else "承诺件",
                promised_days=svc.promised_days,
                legal_time_limit_days=svc.guide.legal_time_limit_days,
                hours=_hours(hall, svc),
                windows=_windows(hall, svc.code),
                open_now=reason is None,
                closed_reason=reason,
                waiting=view["waiting"],
                est_wait_min=view["est_wait_min"],
                one_per_person=svc.one_per_person,
                green_channel=svc.green_channel,
            )
        )
    tz = hall.config.hall.tz
    return ServiceList(now=now.astimezone(tz).isoformat(timespec="seconds"), services=entries)


def queue_status(
    hall: Hall,
    now: datetime,
    refuse_when_unstaffed: bool,
    codes: list[str],
    ticket: str | None,
) -> QueueStatusResult:
    """Per-service queues; `ticket` must exist (the caller checks and answers unknown_ticket)."""
    services = []
    for code in codes:
        view = service_view(hall, code, now)
        services.append(
            ServiceQueue(
                service=code,
                name=view["name"],
                waiting=view["waiting"],
                est_wait_min=view["est_wait_min"],
                open_now=closed_reason(hall, code, now, refuse_when_unstaffed) is None,
            )
        )
    position = None
    if ticket is not None:
        t = hall.state.tickets[ticket]
        ahead = ahead_of(hall.state, t) if t.state == WAITING else 0
        window_name = hall.config.window(t.window).display_name if t.window else None
        position = TicketPosition(
            ticket=t.number,
            service=t.service,
            state=t.state,  # type: ignore[arg-type]  # one of the state module's constants
            ahead=ahead,
            est_wait_min=(
                hall.eta.ticket_min(t.number, now.timestamp()) if t.state == WAITING else 0.0
            ),
            window=t.window,
            window_name=window_name,
        )
    return QueueStatusResult(services=services, ticket=position)
