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

from hallctl.config.models import DEFAULT_RULES
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


# The default chain, as one object: a window whose services are each listed once and which
# follows it gets ``DEFAULT_CHAIN`` itself (``rules_for``), and ``choose`` then takes the
# shortcut below.
DEFAULT_CHAIN: tuple[str, ...] = DEFAULT_RULES  # the config's default, the same object
_RANKED_CLASSES = tuple(enumerate(CLASSES))


def rules_for(rules: Sequence[str], services: Sequence[tuple[str, int, int]]) -> Sequence[str]:
    """The chain a window's calls run: ``DEFAULT_CHAIN`` itself where the shortcut holds."""
    codes = [code for code, _, _ in services]
    if tuple(rules) == DEFAULT_CHAIN and len(set(codes)) == len(codes):
        return DEFAULT_CHAIN
    return list(rules)


def choose(
    state: HallState, window: int, services: Sequence[tuple[str, int, int]], rules: Sequence[str]
) -> str | None:
    """The ticket number the window calls next, or None when nobody waits for it."""
    if rules is DEFAULT_CHAIN:
        return _choose_default(state, window, services)
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


def _choose_default(
    state: HallState, window: int, services: Sequence[tuple[str, int, int]]
) -> str | None:
    """What the default chain picks, without its candidates and lists (every call of a window
    runs it). The queues' heads are read as ``candidates`` reads them, every one in the same
    order (the forecast's shadow queues make citizens as they are asked). Then: green_first
    and appointments keep the best class present, which leaves one queue per service (each
    service is listed once: ``rules_for``); service_level keeps the best level; weighted_ratio
    picks one service, so one queue: longest_wait and fifo are never reached.
    tests/hall/test_policy_default.py holds it to the chain on random lines."""
    lines = state.lines
    top = 3  # the best class rank seen: green 0, appointment 1, normal 2
    pool: list[tuple[int, int, str, int, str]] = []  # (level, position, service, weight, head)
    for position, (code, level, weight) in enumerate(services):
        line = lines.get(code)
        if line is None:
            continue
        queues = line.queues
        for rank, cls in _RANKED_CLASSES:
            q = queues[cls]
            if q.__class__ is OrderedQueue:
                # its head read in place: six queues a call, and a method call each cost more
                # than the rest of the scan
                items, start = q._items, q._start
                if len(items) <= start or rank > top:
                    continue
                number = items[start][1]
            else:  # the forecast's shadow queues: asked as candidates() asks them
                head = q[0] if q else None
                if head is None or rank > top:
                    continue
                number = head[1]
            if rank < top:
                top = rank
                pool = [(level, position, code, weight, number)]
            else:
                pool.append((level, position, code, weight, number))
    if len(pool) < 2:
        return pool[0][4] if pool else None
    levels = {x[0] for x in pool}
    if len(levels) > 1:
        best = min(levels)
        pool = [x for x in pool if x[0] == best]
        if len(pool) == 1:
            return pool[0][4]
    served = state.window(window).served
    # the service whose (served + 1) / weight is smallest is furthest behind its share
    pick = pool[0]
    behind = ((served.get(pick[2], 0) + 1) / pick[3], pick[1])
    for x in pool[1:]:
        key = ((served.get(x[2], 0) + 1) / x[3], x[1])
        if key < behind:
            pick, behind = x, key
    return pick[4]
