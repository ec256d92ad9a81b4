"""The daemon's hall time: the system clock in the hall's zone, to the millisecond.

The journal keeps an event's time to the millisecond (``ts``), and a replay folds events at
that time, so a live command gains nothing from microseconds, and a restart now folds each
event at exactly the time it was folded live. Within a millisecond the clock hands out the
same ``datetime`` object, so whoever derives text or numbers from it (the journal's ``ts``,
the core's timestamp) may keep them for as long as it sees that object: a busy engine runs
tens of commands a millisecond (docs/performance.md).
"""

from __future__ import annotations

import time
from datetime import datetime, tzinfo


class WallClock:
    __slots__ = ("_ms", "_now", "_tz")

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz
        self._ms = -1
        self._now = datetime.fromtimestamp(0, tz)

    def __call__(self) -> datetime:
        ms = time.time_ns() // 1_000_000
        if ms != self._ms:
            self._ms = ms
            self._now = datetime.fromtimestamp(ms / 1000, self._tz)
        return self._now
