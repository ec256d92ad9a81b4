"""Who usually comes when: tickets issued per service, channel and half hour, kept across days.

The wait estimate (hall/eta.py) needs the citizens still to come. The last half hour's rate
says too much just after a peak and too little just before one; the same weekday of the last
few weeks knows the peak is ending. The fold counts each issued ticket in its half hour
(absolute: epoch seconds ÷ 1800, so half hours of any whole-hour time zone line up with local
ones) and remembers which hall days it has seen, for ``WEEKS`` weeks.

``expected`` answers with the mean over the same weekday of the last ``WEEKS`` weeks the hall
was open (the profile); with no such day yet, over the last ``DAYS`` days it was open. A hall
whose time zone changes its offset (summer time) is an hour off on the weeks across the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

SLOT_S = 1800
WEEK_SLOTS = 7 * 24 * 3600 // SLOT_S
DAY_SLOTS = 24 * 3600 // SLOT_S
WEEKS = 4  # same-weekday days that make a profile
DAYS = 5  # any days, while the hall has none of this weekday yet
KEEP_DAYS = 7 * WEEKS + 1


def slot_of(at: float) -> int:
    return int(at // SLOT_S)


@dataclass(slots=True)
class ArrivalProfile:
    days: dict[str, int] = field(default_factory=dict)  # hall day → its first half hour
    counts: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)

    def note(self, day: str, at: float, service: str, channel: str) -> None:
        """One ticket issued (the fold's part)."""
        slot = slot_of(at)
        if day not in self.days:
            self.days[day] = slot
            self._forget(slot - KEEP_DAYS * DAY_SLOTS)
        per = self.counts.get((service, channel))
        if per is None:
            per = self.counts[(service, channel)] = {}
        per[slot] = per.get(slot, 0) + 1

    def _forget(self, before: int) -> None:
        self.days = {d: s for d, s in self.days.items() if s >= before}
        for per in self.counts.values():
            for slot in [s for s in per if s < before]:
                del per[slot]

    def shifts(self, today: str) -> list[int]:
        """Slot offsets back to the days that make today's profile (empty: no history)."""
        d = date.fromisoformat(today)
        same = [
            k * WEEK_SLOTS
            for k in range(1, WEEKS + 1)
            if (d - timedelta(weeks=k)).isoformat() in self.days
        ]
        if same:
            return same
        earlier = sorted((day for day in self.days if day < today), reverse=True)[:DAYS]
        return [(d - date.fromisoformat(day)).days * DAY_SLOTS for day in earlier]

    def expected(self, key: tuple[str, str], slot: int, shifts: list[int]) -> float:
        """Citizens expected in this half hour: the mean over the profile's days."""
        per = self.counts.get(key)
        if not per or not shifts:
            return 0.0
        return sum(per.get(slot - k, 0) for k in shifts) / len(shifts)
