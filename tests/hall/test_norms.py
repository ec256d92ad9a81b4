"""Service norms fire and clear at the right moments (time is an input), and can be acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hallctl.config import parse_config
from tests.hall.conftest import SMALL_HALL, TZ, Driver

NORMS = """
hall: {id: test-hall, name: 测试大厅, timezone: Asia/Shanghai, hours: ["08:30-17:30"]}
supervision:
  norms:
    service_limit_min: 20
    line_limit: 3
    idle_with_waiting_min: 5
    pause_limit_min: 15
    gaming: {no_shows: 3, within_s: 10, span_min: 5}
    services:
      BDC: {service_limit_min: 40}
"""


def _config_text() -> str:
    lines = [ln for ln in SMALL_HALL.splitlines() if not ln.startswith("hall:")]
    return "\n".join(lines) + NORMS


@pytest.fixture
def h() -> Driver:
    return Driver(parse_config(_config_text()), datetime(2026, 11, 25, 9, 0, tzinfo=TZ))


def alarms(h: Driver, type_: str = "alarm.raised") -> list[dict[str, Any]]:
    return [d for t, d in h.events if t == type_]


def kinds(h: Driver, type_: str = "alarm.raised") -> list[str]:
    return [d["alarm"] for d in alarms(h, type_) if d["kind"] != "long_wait"]


def test_service_overtime_uses_the_service_limit_and_clears_when_finished(h: Driver) -> None:
    h("open_window", window=2)
    h("take_ticket", service="SB")  # B001, hall default 20 min
    h("call_next", window=2)
    h("start_service", window=2)
    h.later(minutes=20)
    h("tick")
    assert kinds(h) == []  # at the limit, not over it
    h.later(seconds=1)
    h("tick")
    assert kinds(h) == ["service_overtime:B001"]
    raised = alarms(h)[-1]
    assert (raised["scope"], raised["severity"], raised["window"]) == ("window", "warning", 2)
    h("tick")
    assert kinds(h) == ["service_overtime:B001"]  # raised once
    h("finish", window=2)
    h("tick")
    assert kinds(h, "alarm.cleared") == ["service_overtime:B001"]


def test_service_override_gives_bdc_forty_minutes(h: Driver) -> None:
    h("open_window", window=1)
    h("take_ticket", service="BDC")
    h("call_next", window=1)
    h.later(minutes=39)
    h("tick")
    assert kinds(h) == []
    h.later(minutes=2)
    h("tick")
    assert kinds(h) == ["service_overtime:A001"]


def test_line_too_long_raises_above_the_limit_and_clears_at_it(h: Driver) -> None:
    h("open_window", window=3)
    for _ in range(4):
        h("take_ticket", service="ZH")
    h("call_next", window=3)  # window 3 serves SB first, then ZH
    h("tick")
    assert "line_too_long:ZH" not in kinds(h)
    h("take_ticket", service="ZH")
    h("tick")
    assert "line_too_long:ZH" in kinds(h)
    h("call_next", window=3)
    h("tick")
    assert "line_too_long:ZH" in kinds(h, "alarm.cleared")


def test_idle_with_people_waiting_counts_from_the_later_of_free_and_waiting(h: Driver) -> None:
    h("open_window", window=1)
    h.later(minutes=30)  # free but nobody waiting: no alarm
    h("tick")
    h("take_ticket", service="BDC")
    h.later(minutes=4, seconds=59)
    h("tick")
    assert kinds(h) == []
    h.later(seconds=1)
    h("tick")
    assert kinds(h) == ["idle_with_waiting:1"]
    assert alarms(h)[-1]["severity"] == "critical"
    h("call_next", window=1)
    h("tick")
    assert kinds(h, "alarm.cleared") == ["idle_with_waiting:1"]


def test_long_pause(h: Driver) -> None:
    h("open_window", window=2)
    h("pause_window", window=2, reason="午休")
    h.later(minutes=15)
    h("tick")
    assert kinds(h) == ["long_pause:2"] and alarms(h)[-1]["reason"] == "午休"
    h("resume_window", window=2)
    h("tick")
    assert kinds(h, "alarm.cleared") == ["long_pause:2"]


def test_quick_no_shows_suggest_gaming_and_age_out(h: Driver) -> None:
    h("open_window", window=2)
    for _ in range(4):
        h("take_ticket", service="SB")
    for i in range(3):
        h("call_next", window=2)
        h.later(seconds=5 if i != 1 else 30)  # the second one waited properly
        h("no_show", window=2)
        h("tick")
    assert "gaming:2" not in kinds(h)
    h("call_next", window=2)
    h.later(seconds=3)
    h("no_show", window=2)
    h("tick")
    assert "gaming:2" in kinds(h)
    h.later(minutes=5)
    h("tick")
    assert "gaming:2" in kinds(h, "alarm.cleared")


def test_serving_outside_hall_hours(h: Driver) -> None:
    h.now = datetime(2026, 11, 25, 17, 20, tzinfo=TZ)
    h("open_window", window=2)
    h("take_ticket", service="SB")
    h("call_next", window=2)
    h("tick")
    assert "outside_hours:2" not in kinds(h)
    h.later(minutes=11)
    h("tick")
    assert "outside_hours:2" in kinds(h)
    h("finish", window=2)
    h("tick")
    assert "outside_hours:2" in kinds(h, "alarm.cleared")


def test_acknowledge_records_who_when_and_a_note(h: Driver) -> None:
    h("open_window", window=2)
    h("pause_window", window=2)
    h.later(minutes=16)
    h("tick")
    ack = h("acknowledge_alarm", alarm="long_pause:2", by="监察员张三", note="已电话提醒")
    assert ack["by"] == "监察员张三" and ack["at"] == "2026-11-25T09:16:00+08:00"
    assert h.hall.state.alarms["long_pause:2"]["ack"]["note"] == "已电话提醒"
    h.fails("already_acknowledged", "acknowledge_alarm", alarm="long_pause:2", by="x")
    h.fails("unknown_alarm", "acknowledge_alarm", alarm="long_pause:9", by="x")
    h.fails("bad_request", "acknowledge_alarm", alarm="long_pause:2", by="")


def test_norms_can_be_switched_off(config: Any) -> None:
    h = Driver(config, datetime(2026, 11, 25, 9, 0, tzinfo=TZ))
    quiet = config.model_copy(
        update={
            "supervision": config.supervision.model_copy(
                update={
                    "norms": config.supervision.norms.model_copy(
                        update={"idle_with_waiting_min": None, "service_limit_min": None}
                    )
                }
            )
        }
    )
    h = Driver(quiet, datetime(2026, 11, 25, 9, 0, tzinfo=TZ))
    h("open_window", window=1)
    h("take_ticket", service="BDC")
    h.later(minutes=29)
    h("tick")
    assert kinds(h) == []
