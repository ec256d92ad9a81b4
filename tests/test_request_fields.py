"""Request fields are what they say: strict types, and devices the hall actually has.

Lax coercion let `{"window": true}`, `"01"`, `" 1 "` and `1.0` all act on window 1; a
`device_alarm` for a device the hall does not have was journaled and shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hallctl.config import HallConfig, parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.errors import HallError
from tests.hall.conftest import SMALL_HALL
from tests.test_engine import Running

WITH_DEVICES = SMALL_HALL + """
serial:
  lines:
    - {id: bus1, port: /dev/null}
  devices:
    - {id: kp-1, profile: ff68-keypad, line: bus1, address: 1, window: 1}
kiosks:
  kiosks:
    - {id: K1}
"""


@pytest.fixture
def config() -> HallConfig:
    return parse_config(WITH_DEVICES)


@pytest.mark.parametrize("window", [True, "01", " 1 ", "1", 1.0, 1.5, None, [1]])
def test_a_window_must_be_an_integer(window: Any) -> None:
    with pytest.raises(HallError) as info:
        parse_command({"action": "call_next", "window": window})
    assert info.value.code == "bad_request"
    assert "window" in info.value.message


@pytest.mark.parametrize("action", [None, 3, ["call_next"], {"a": 1}, "call-next", ""])
def test_an_action_that_is_not_one_of_the_actions_is_named_unknown(action: Any) -> None:
    with pytest.raises(HallError) as info:
        parse_command({"action": action, "window": 1})
    assert info.value.code == "unknown_action"  # an unhashable one too, not an internal error
    assert info.value.message == f"Unknown action: {action!r}"


def test_a_bad_field_is_named_by_its_path_without_the_action() -> None:
    with pytest.raises(HallError) as info:
        parse_command({"action": "evaluate", "window": 1, "level": 5, "scores": {"quality": 9}})
    assert info.value.message.endswith(": scores.quality: Input should be less than or equal to 5")


@pytest.mark.parametrize(
    "request_",
    [
        {"action": "transfer", "window": 1, "service": "SB", "front": "yes"},
        {"action": "transfer", "window": 1, "service": "SB", "front": 1},
        {"action": "device_status", "device": "kp-1", "online": "true"},
        {"action": "device_status", "device": "kp-1", "online": 0},
        {"action": "device_alarm", "device": "kp-1", "alarm": "x", "active": "false"},
        {"action": "evaluate", "window": "1", "level": 5},
        {"action": "evaluate", "window": 1, "level": True},
        {"action": "evaluate", "window": 1, "level": 5.0},
        {"action": "evaluate", "window": 1, "level": " 5"},
    ],
)
def test_booleans_and_numbers_are_not_guessed_from_other_types(request_: dict[str, Any]) -> None:
    with pytest.raises(HallError) as info:
        parse_command(request_)
    assert info.value.code == "bad_request"


def test_proper_values_still_parse() -> None:
    assert parse_command({"action": "call_next", "window": 1}).window == 1  # type: ignore[union-attr]
    assert parse_command({"action": "evaluate", "window": 1, "level": "5"}).level == 5  # type: ignore[union-attr]
    assert parse_command({"action": "evaluate", "window": 1, "level": "非常满意"}).level == 5  # type: ignore[union-attr]
    assert parse_command(
        {"action": "staff_check_in", "staff": "S1", "time": "2026-11-25T08:59:01+08:00"}
    ).time is not None  # type: ignore[union-attr]


async def test_a_coerced_window_changes_nothing(config: HallConfig, tmp_path: Path) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        await engine.execute({"action": "tick"})  # the day starts
        seq = engine.last_seq()
        for window in (True, "01", " 1 ", 1.0):
            answer = await engine.execute({"action": "open_window", "window": window})
            assert answer["ok"] is False and answer["error"]["code"] == "bad_request"
        assert engine.last_seq() == seq
        assert engine.hall.state.window(1).status == "closed"


@pytest.mark.parametrize(
    "request_",
    [
        {"action": "device_status", "device": "nobody", "online": True},
        {"action": "device_alarm", "device": "nobody", "alarm": "paper_out", "active": True},
    ],
)
async def test_a_device_the_hall_does_not_have_is_refused(
    config: HallConfig, tmp_path: Path, request_: dict[str, Any]
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        await engine.execute({"action": "tick"})  # the day starts
        seq = engine.last_seq()
        answer = await engine.execute(request_)
        assert answer["ok"] is False and answer["error"]["code"] == "unknown_device"
        assert "nobody" in answer["error"]["message"]
        assert engine.last_seq() == seq
        assert engine.hall.state.devices == {} and engine.hall.state.device_alarms == {}


@pytest.mark.parametrize("device", ["kp-1", "K1"])
async def test_a_configured_device_reports_its_status(
    config: HallConfig, tmp_path: Path, device: str
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        answer = await engine.execute({"action": "device_status", "device": device,
                                       "online": True})
        assert answer["ok"] is True and answer["result"]["changed"] is True
