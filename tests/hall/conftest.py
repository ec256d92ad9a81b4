"""A small hall for core tests, and a driver that runs requests through the pure core."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hallctl.config import HallConfig, parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from hallctl.hall.events import validate_event

TZ = ZoneInfo("Asia/Shanghai")

SMALL_HALL = """
version: 1
hall: {id: test-hall, name: 测试大厅, timezone: Asia/Shanghai}
services:
  - {code: BDC, name: 不动产登记, prefix: A, priority_weight: 2, daily_cap: 50, avg_service_min: 10}
  - {code: SB, name: 社保, prefix: B}
  - {code: GJJ, name: 公积金, prefix: C, hours: ["09:00-12:00"], one_per_person: true}
  - {code: ZH, name: 综合受理, prefix: H, green_channel: false}
windows:
  - {number: 1, services: [BDC]}
  - {number: 2, services: [BDC, SB]}
  - {number: 3, services: [{service: SB, level: 1}, {service: ZH, level: 2}]}
  - {number: 4, services: [GJJ, ZH]}
staff:
  - {id: S1, name: 王芳, staff_no: "0101", role: A, windows: [1]}
  - {id: S2, name: 李强, staff_no: "0102", role: B, windows: [1, 2]}
calling:
  recall_cap: 2
  no_show_rejoin_min: 30
evaluation: {timeout_s: 60, require_reason_for_bad: true}
"""


class Driver:
    """Runs requests through the core at a controllable time and checks every event's schema."""

    def __init__(self, config: HallConfig, start: datetime) -> None:
        self.hall = Hall(config)
        self.now = start
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, action: str, **fields: Any) -> dict[str, Any]:
        out = self.hall.execute(parse_command({"action": action, **fields}), self.now)
        for type_, data in out.events:
            validate_event(type_, data)
        self.events.extend(out.events)
        return out.result

    def fails(self, code: str, action: str, **fields: Any) -> HallError:
        before = len(self.events)
        with pytest.raises(HallError) as info:
            self(action, **fields)
        assert info.value.code == code, info.value.to_dict()
        assert len(self.events) == before
        return info.value

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def types(self) -> list[str]:
        return [t for t, _ in self.events]


@pytest.fixture
def config() -> HallConfig:
    return parse_config(SMALL_HALL)


@pytest.fixture
def hall(config: HallConfig) -> Driver:
    return Driver(config, datetime(2026, 11, 25, 9, 30, tzinfo=TZ))


MakeDriver = Callable[[datetime], Driver]
