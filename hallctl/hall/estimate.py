"""Wait estimates, kept deliberately simple and explainable to a citizen.

estimated wait = people ahead × average service minutes ÷ windows serving the service now.

The average is an exponentially weighted mean (α = 0.2) of today's finished services for that
service, seeded by the configured ``avg_service_min`` until the first one finishes. "Windows
serving it now" counts open (not paused) windows that list the service; when none is open the
estimate assumes one, so it never divides by zero and still grows with the line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hallctl.hall.state import CHANNEL_CLASS, CLASSES, HallState, ServiceLine, Ticket

if TYPE_CHECKING:
    from hallctl.hall.core import Hall


def serving_windows(hall: Hall, service: str) -> int:
    windows = hall.state.windows
    return sum(1 for n in hall.windows_serving[service] if windows[n].status == "open")


def estimated_wait_min(hall: Hall, service: str, ahead: int) -> float:
    avg = hall.state.service_minutes.get(service, hall.config.service(service).avg_service_min)
    return round(ahead * avg / max(1, serving_windows(hall, service)), 1)


def ahead_of(state: HallState, t: Ticket) -> int:
    """People in the ticket's own line who will be called before it (class order, then order)."""
    line = state.lines.get(t.service)
    if line is None:
        return 0
    cls = CHANNEL_CLASS[t.channel]
    ahead = 0
    for c in CLASSES:
        q = line.queues[c]
        if c == cls:
            ahead += q.count_before(t.order)
            break
        ahead += len(q)
    return ahead


def ahead_in_class(line: ServiceLine, channel: str) -> int:
    """People a new ticket of this channel will find ahead of it in its line."""
    cls = CHANNEL_CLASS[channel]
    ahead = 0
    for c in CLASSES:
        ahead += len(line.queues[c])
        if c == cls:
            break
    return ahead
