"""The last forecast, reused while the hall goes as it foresaw (docs/eta.md, "Cost").

A forecast (hall/eta.py) plays the calling policy forward: it already says when every waiting
citizen will be called and when a new one of each service would be. Calls and finishes that
come as forecast do not make it wrong, so a forecast is kept until

- the hall clock has moved ``REFRESH_S`` on since it was made, or
- something happened that it could not foresee (``UNFORESEEN`` below): a window opened,
  closed, paused or resumed or changed staff, a transfer, a green-channel or appointment ticket,
  a suspension or call-back, a no-show, a service stopped or capped, a new day.

A normal ticket issued while it is kept joins the back of its line: it is expected at the
forecast's time for a new ticket of its service plus one slot (the time the run took per
citizen of that service) per ticket of that service issued since. A burst of tickets thus
prints increasing numbers at the cost of one run. When the run served too few of that service
to tell its rate (its line was short), new tickets take the windows that serve it first in
turn, each from when the run left it free, for that window's mean service time (so with two
idle windows the first two go at once); if citizens are expected to come ahead of it (green
channel, appointments), that cannot tell when, and the forecast is made again after that ticket.

What it remembers of those tickets is what a later question needs, and no more: per service,
the arrival orders of its tickets issued since (8 bytes each, a ticket's place among them gives
its slot), and only for a service placed by the windows in turn, the times they were given. A
forecast kept only for the displays (``remember=False``) answers for new tickets alone and keeps
only the count. (A dict of every ticket's time grew by about a megabyte when a busy day's tickets
came within one forecast: docs/performance.md, "Memory".)

Pure: whether a forecast is reused depends only on the events seen and the times given.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from typing import Any

REFRESH_S = 10.0  # hall seconds a forecast is reused for (bench/eta_accuracy.py chose it)

# Events the forecast already accounts for (or that do not touch the lines and windows). Any
# other event, including a type this version does not know, makes the forecast stale.
FORESEEN = frozenset(
    {
        "ticket.called",
        "ticket.recalled",
        "ticket.serving",
        "ticket.finished",
        "ticket.reprint_requested",
        "evaluation.requested",
        "evaluation.recorded",
        "staff.checked_in",
        "staff.checked_out",
        "device.online",
        "device.offline",
        "device.alarm",
        "alarm.raised",
        "alarm.cleared",
        "alarm.acknowledged",
        "appointment.booked",
        "notice.changed",
        "voice.announced",
        "case.opened",
        "case.followed_up",
        "case.closed",
        "report.daily",
    }
)


def wait_min(call_at: float, at: float) -> float:
    return round(max(0.0, call_at - at) / 60.0, 1)


class KeptForecast:
    """One kept forecast: the run's calls, each service's new-ticket time and slot, and the
    normal tickets issued since it was made (``remember``: where each one was placed)."""

    __slots__ = (
        "calls",
        "followers",
        "made_at",
        "new",
        "orders",
        "placed",
        "remember",
        "since",
        "slot",
        "valid",
    )

    def __init__(self, remember: bool = True) -> None:
        self.remember = remember
        self.valid = False
        self.made_at = 0.0
        self.calls: dict[str, float] = {}
        self.new: dict[str, float] = {}  # service → expected call of a new normal ticket
        # service → seconds per citizen of it in the run (None: too few served to tell)
        self.slot: dict[str, float | None] = {}
        # where the slot is not known: (free at, mean) of the windows that serve it, a heap
        # (None: citizens expected ahead of it, nobody can tell)
        self.followers: dict[str, list[tuple[float, float]] | None] = {}
        self.since: dict[str, int] = {}  # service → normal tickets issued since
        # service → those tickets' arrival orders, ascending (the k-th is k slots behind a new
        # ticket at the run's time); and where the slot is not known, their expected calls
        self.orders: dict[str, array[int]] = {}
        self.placed: dict[str, array[float]] = {}

    def fresh(self, at: float) -> bool:
        return self.valid and self.made_at <= at < self.made_at + REFRESH_S

    def keep(
        self,
        at: float,
        calls: dict[str, float],
        new: dict[str, float],
        slot: dict[str, float | None],
        followers: dict[str, list[tuple[float, float]] | None],
    ) -> None:
        self.valid, self.made_at = True, at
        self.calls, self.new, self.slot, self.followers = calls, new, slot, followers
        self.since, self.orders, self.placed = {}, {}, {}

    def new_call(self, service: str) -> float:
        """Expected call of a normal ticket of this service issued now."""
        since = self.since.get(service, 0)
        if not since:
            return self.new[service]
        slot = self.slot[service]
        if slot is not None:
            return self.new[service] + since * slot
        windows = self.followers.get(service)
        return max(windows[0][0], self.new[service]) if windows else self.new[service]

    def call_of(self, number: str, service: str, order: int) -> float | None:
        """A waiting ticket's expected call (its number, service and arrival order), if this
        forecast knows it: the run's, or where it was placed when issued since."""
        got = self.calls.get(number)
        if got is not None:
            return got
        orders = self.orders.get(service)
        if orders is None:
            return None
        k = bisect_left(orders, order)
        if k == len(orders) or orders[k] != order:
            return None
        slot = self.slot[service]
        if slot is None:
            return self.placed[service][k]
        return self.new[service] + k * slot if k else self.new[service]  # as new_call said

    def saw(self, type_: str, data: dict[str, Any], order: int | None = None) -> None:
        """An event folded (``order``: a ticket.issued's arrival order)."""
        if not self.valid or type_ in FORESEEN:
            return
        if type_ == "ticket.issued" and data.get("channel") == "normal" and order is not None:
            service = data.get("service")
            if service in self.new and (
                self.slot[service] is not None or self.followers.get(service) is not None
            ):
                call = self.new_call(service)
                if self.remember:
                    orders = self.orders.get(service)
                    if orders is None:
                        orders = self.orders[service] = array("q")
                    orders.append(order)
                    if self.slot[service] is None:
                        self.placed.setdefault(service, array("d")).append(call)
                windows = self.followers.get(service)
                if windows:  # the window that takes it is busy for one citizen more
                    heapq.heapreplace(windows, (call + windows[0][1], windows[0][1]))
                self.since[service] = self.since.get(service, 0) + 1
                return
        self.valid = False
