"""The daemon's hall time: the system clock in the hall's zone, one datetime a millisecond."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hallctl.wall_clock import WallClock

TZ = ZoneInfo("Asia/Shanghai")


def test_it_reads_the_system_clock_in_the_halls_zone_to_the_millisecond() -> None:
    clock = WallClock(TZ)
    before = datetime.now(TZ)
    now = clock()
    after = datetime.now(TZ)
    assert now.tzinfo is TZ
    assert now.microsecond % 1000 == 0
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= now <= after


def test_within_a_millisecond_it_hands_out_the_same_object(monkeypatch: pytest.MonkeyPatch) -> None:
    ns = 1_764_547_200_123_456_789  # 2025-12-01 08:00:00.123456789 in Shanghai
    monkeypatch.setattr(time, "time_ns", lambda: ns)
    clock = WallClock(TZ)
    first = clock()
    assert clock() is first
    assert first.isoformat(timespec="microseconds") == "2025-12-01T08:00:00.123000+08:00"
    ns += 900_000  # 0.9 ms later: the next millisecond
    later = clock()
    assert later is not first
    assert later.isoformat(timespec="milliseconds") == "2025-12-01T08:00:00.124+08:00"
