"""Hall time, as opposed to the computer's: one abstraction for the demo and the simulator.

The hall core takes the time as an input; whoever feeds it chooses the clock:

- ``ScaledClock`` (the demo): hall time runs ``factor`` times faster than real time from a start,
  so a 6-minute service lasts 6 hall minutes on the core's clock however fast the demo plays;
  ``sleep`` waits the real time a span of hall time takes.
- ``VirtualClock`` (``hallctl simulate``): time moves only when the simulation says so; nothing
  sleeps, a day takes seconds.

Both are callables returning an aware ``datetime``, which is what ``HallEngine(clock=...)`` takes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta


class ScaledClock:
    def __init__(self, start: datetime, factor: float) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start must carry a time zone")
        if factor <= 0:
            raise ValueError("the clock's factor must be positive")
        self.start = start
        self.factor = factor
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.factor)

    async def sleep(self, hall_seconds: float) -> None:
        await asyncio.sleep(max(0.0, hall_seconds) / self.factor)


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start must carry a time zone")
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError("virtual time only moves forward")
        self._now = when

    def timestamp(self) -> float:
        return self._now.timestamp()
