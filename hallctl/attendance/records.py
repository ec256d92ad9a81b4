"""What every attendance source produces: one punch, plus the memory that drops repeats.

A clock that did not hear our answer sends the same punches again (ADMS after ErrorDelay,
ISAPI terminals from their offline store). The record key is derived only from what the clock
resends unchanged (its staff id and the punch time) so that a repeat has the same key, and the
hall request built from it carries the same request_id: the engine answers a repeat without
changing anything. `RecentKeys` stops repeats before they reach the engine at all.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Direction = Literal["in", "out"]
Source = Literal["zkteco_adms", "hikvision_isapi", "mqtt_face", "zkteco_tcp"]


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    """One punch at one clock. No name, no picture, no raw payload: only what the hall needs."""

    device: str  # the hall's device id of the clock (from config), not the clock's serial
    source: Source
    staff_external_id: str  # the clock's staff id (ZKTeco PIN, Hikvision employeeNo)
    time: datetime  # timezone-aware
    direction: Direction
    record_key: str

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("AttendanceRecord.time must be timezone-aware")
        if not self.device or not self.staff_external_id or not self.record_key:
            raise ValueError("AttendanceRecord needs device, staff_external_id and record_key")

    @property
    def request_id(self) -> str:
        return "att:" + self.device + ":" + self.record_key


def record_key(staff_external_id: str, when: datetime) -> str:
    """A key a clock's resend reproduces exactly: staff id and the punch second in UTC."""
    return staff_external_id + "@" + when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class RecentKeys:
    """Keys seen in the last `window` seconds, bounded in size (oldest forgotten first).

    Only a fast path: forgetting a key costs one idempotent engine call, never a double punch.
    """

    def __init__(
        self,
        window: float,
        max_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window
        self._max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._seen)

    def __contains__(self, key: object) -> bool:
        self._expire()
        return key in self._seen

    def add(self, key: str) -> None:
        self._seen[key] = self._clock()
        self._seen.move_to_end(key)
        while len(self._seen) > self._max_size:
            self._seen.popitem(last=False)

    def _expire(self) -> None:
        horizon = self._clock() - self._window
        while self._seen:
            key, seen_at = next(iter(self._seen.items()))
            if seen_at > horizon:
                break
            del self._seen[key]
