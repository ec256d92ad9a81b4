"""The calling policy: which waiting ticket a window calls next.

A policy is an ordered chain of rules. The candidates are the non-empty queues a window can
serve, one per (service, class); each rule keeps the queues it prefers and hands the rest on,
and the head of the first queue left is called. The default chain:

1. ``green_first``    绿色通道 tickets before anyone else;
2. ``appointments``   checked-in 预约 before walk-ins;
3. ``service_level``  services at this window's best (lowest) level first;
4. ``weighted_ratio`` among the services left, the one furthest behind its share
                      (``priority_weight``, e.g. 2:1:1 → two of A for each of B and C);
5. ``longest_wait``   the queue whose head has waited longest (since issue, across transfers);
6. ``fifo``           arrival order (a transfer to the front goes first).

Drop a rule to ignore it: without ``service_level`` a level-2 service competes on ratio and
wait with level 1; without ``weighted_ratio`` and ``service_level`` the window is strictly
longest-wait-first, which is what citizens see as fair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from hallctl.hall.queue import OrderedQueue
from hallctl.hall.state import CLASSES, HallState


class Candidate(NamedTuple):
    """A queue a window may call from (a tuple: made for each queue on every call, and a
    frozen dataclass took four times as long to make)."""

    service: str
    cls: str
    level: int
    weight: int
    position: int  # the service's place in the window's list (ties)
    head_order: int
    head_number: str
    head_waiting_since: float


Rule = Callable[[list[Candidate], HallState, int], list[Candidate]]


def _green_first(c: list[Candidate], s: HallState, w: int) -> list[Candidate]:
    green = [x for x in c if x.cls == "green"]
    return green or c


def _appointments(c: list[Candidate], s: HallState, w: int) -> list[Candidate]:
    appt = [x for x in c if x.cls == "appointment"]
    return appt or c


def _service_level(c: list[Candidate], s: HallState, w: int) -> list[Candidate]:
    best = min(x.level for x in c)
    return [x for x in c if x.level == best]


def _weighted_ratio(c: list[Candidate], s: HallState, w: int) -> list[Candidate]:
    served = s.window(w).served

    def behind(x: Candidate) -> tuple[float, int]:
        # the service whose (served + 1) / weight is smallest is furthest behind its share
        return ((served.get(x.service, 0) + 1) / x.weight, x.position)

    pick = min(c, key=behind).service
    return [x for x in c if x.service == pick]


def _longest_wait(c: list[Candidate], s: HallState, w: int) -> list[Candidate]:
    oldest = min(x.head_waiting_since for x in c)
    return [x for x in c if x.head_waiting_since == oldest]


def _fifo(c: list[Candidate], s: HallState, w: int) -> list[Candidate]:
    return [min(c, key=lambda x: (x.head_order, x.position))]


RULES: dict[str, Rule] = {
    "green_first": _green_first,
    "appointments": _appointments,
    "service_level": _service_level,
    "weighted_ratio": _weighted_ratio,
    "longest_wait": _longest_wait,
    "fifo": _fifo,
}


def candidates(state: HallState, services: Sequence[tuple[str, int, int]]) -> list[Candidate]:
    """Queues a window can call from: ``services`` is (code, level, weight) in window order."""
    out: list[Candidate] = []
    for position, (code, level, weight) in enumerate(services):
        line = state.lines.get(code)
        if line is None:
            continue
        queues = line.queues
        for cls in CLASSES:
            q = queues[cls]
            # the forecast's shadow queues have their own __bool__ and [0] (hall/eta.py)
            head = q.head() if q.__class__ is OrderedQueue else (q[0] if q else None)
            if head is not None:
                order, number = head
                t = state.tickets[number]
                out.append(
                    Candidate(code, cls, level, weight, position, order, number, t.waiting_since)
                )
    return out


def choose(
    state: HallState, window: int, services: Sequence[tuple[str, int, int]], rules: Sequence[str]
) -> str | None:
    """The ticket number the window calls next, or None when nobody waits for it."""
    c = candidates(state, services)
    if not c:
        return None
    if len(c) == 1:  # what every rule would leave
        return c[0].head_number
    for name in rules:
        c = RULES[name](c, state, window)
        if len(c) == 1:
            return c[0].head_number
    return _fifo(c, state, window)[0].head_number
