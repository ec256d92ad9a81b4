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

Pure: whether a forecast is reused depends only on the events seen and the times given.
"""

from __future__ import annotations

import heapq
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
    normal tickets issued since it was made."""

    __slots__ = ("calls", "followers", "made_at", "new", "placed", "since", "slot", "valid")

    def __init__(self) -> None:
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
        self.placed: dict[str, float] = {}  # those tickets' expected calls

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
        self.since, self.placed = {}, {}

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

    def call_of(self, number: str) -> float | None:
        """A waiting ticket's expected call, if this forecast knows it."""
        got = self.calls.get(number)
        return got if got is not None else self.placed.get(number)

    def saw(self, type_: str, data: dict[str, Any]) -> None:
        if not self.valid or type_ in FORESEEN:
            return
        if type_ == "ticket.issued" and data.get("channel") == "normal":
            service = data.get("service")
            if service in self.new and (
                self.slot[service] is not None or self.followers.get(service) is not None
            ):
                call = self.placed[data["ticket"]] = self.new_call(service)
                windows = self.followers.get(service)
                if windows:  # the window that takes it is busy for one citizen more
                    heapq.heapreplace(windows, (call + windows[0][1], windows[0][1]))
                self.since[service] = self.since.get(service, 0) + 1
                return
        self.valid = False
