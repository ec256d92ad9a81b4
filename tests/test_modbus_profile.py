"""Register-map profiles: the built-ins load, and mistakes are named with field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallctl.modbus.config import ModbusConfig
from hallctl.modbus.profile import ProfileError, load_profile, parse_profile

BUILTINS = sorted(p.stem for p in (Path(__file__).parents[1] / "devices").glob("modbus-*.yaml"))


def test_the_three_builtin_profiles_exist() -> None:
    assert {"modbus-evaluator", "modbus-led-display", "modbus-dispenser"} <= set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_loads_by_name(name: str) -> None:
    profile = load_profile(name)
    assert profile.profile == name
    assert profile.poll, "every built-in polls something, so availability is known"


GOOD = """
profile: t
points:
  key: {table: holding, address: 0}
poll: [{points: [key], period: 0.5}]
inputs:
  - {point: key, trigger: rise, request: {action: evaluate, window: "{window}"}}
"""


def test_a_minimal_profile_is_valid() -> None:
    assert parse_profile(GOOD).inputs[0].request["action"] == "evaluate"


def test_unknown_field_is_refused_with_its_path_and_line() -> None:
    bad = GOOD.replace("address: 0}", "address: 0, adress: 1}")
    with pytest.raises(ProfileError) as err:
        parse_profile(bad, "x.yaml")
    assert "x.yaml: points.key.adress (line 4)" in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("points: [key]", "points: [nokey]"), "no point named 'nokey'"),
        (("trigger: rise", "trigger: latched"), "latched input needs clear"),
        (("table: holding", "table: input"), None),  # fine: input may be read-only
        (("{table: holding, address: 0}", "{table: coil, address: 0, type: u16}"),
         "coil point is type bool or bits"),
    ],
)
def test_profile_cross_checks(change: tuple[str, str], message: str | None) -> None:
    text = GOOD.replace(*change)
    if message is None:
        parse_profile(text)
        return
    with pytest.raises(ProfileError, match=message):
        parse_profile(text)


def test_outputs_must_target_writable_points() -> None:
    text = GOOD.replace("table: holding", "table: input") + (
        "outputs:\n  - {on: [x], write: [{point: key, value: 1}]}\n")
    with pytest.raises(ProfileError, match="read-only"):
        parse_profile(text)


def test_device_config_needs_exactly_one_link_and_units_are_unique_per_line() -> None:
    with pytest.raises(ValueError, match="exactly one of line"):
        ModbusConfig.model_validate({"devices": [{"id": "a", "profile": "p", "unit": 1}]})
    with pytest.raises(ValueError, match="unit 3 already used on l1"):
        ModbusConfig.model_validate({
            "lines": [{"id": "l1", "port": "/dev/ttyUSB0"}],
            "devices": [{"id": "a", "profile": "p", "line": "l1", "unit": 3},
                        {"id": "b", "profile": "p", "line": "l1", "unit": 3}],
        })
    cfg = ModbusConfig.model_validate({"devices": [
        {"id": "a", "profile": "p", "host": "10.0.0.5", "unit": 1},
        {"id": "b", "profile": "p", "host": "10.0.0.5:1502", "unit": 1}]})
    assert [d.tcp_address() for d in cfg.devices] == [("10.0.0.5", 502), ("10.0.0.5", 1502)]


def test_default_frame_gap_is_three_and_a_half_characters() -> None:
    cfg = ModbusConfig.model_validate({"lines": [{"id": "l", "port": "p", "baudrate": 9600}]})
    assert cfg.lines[0].gap_seconds() == pytest.approx(3.5 * 11 / 9600)
    fast = ModbusConfig.model_validate({"lines": [{"id": "l", "port": "p", "baudrate": 115200}]})
    assert fast.lines[0].gap_seconds() == 0.00175
