"""The serial section: shape errors at parse time, cross references in ``check``, templates,
and the supervisor that keeps a crashing driver from ending the daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hallctl.config import parse_config
from hallctl.drivers.display import main_text, ticket_digits, window_text
from hallctl.drivers.serial_config import SerialSection, Templates, check
from hallctl.drivers.serial_devices import SerialConfigError, SerialDevices, supervise
from tests.drivers_support import HALL, STANDARD_DEVICES, section

HALL_CONFIG = parse_config(HALL)


def problems(devices: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
    sec = SerialSection.model_validate(
        {"lines": [{"id": "bus", "port": "/dev/ttyUSB0"}, {"id": "led", "port": "/dev/ttyUSB1"}],
         "devices": devices, **extra}
    )
    return {".".join(map(str, p.path)): p.message for p in check(sec, HALL_CONFIG)}


def test_the_standard_test_hall_is_valid(tmp_path: Path) -> None:
    assert check(section(tmp_path, STANDARD_DEVICES), HALL_CONFIG) == []


def test_cross_references_are_checked_with_paths() -> None:
    found = problems([
        {"id": "kp", "profile": "ff68-keypad", "line": "nope", "address": 1, "window": 9,
         "transfer_to": "XX"},
        {"id": "panel", "profile": "ff68-ticket-panel", "line": "bus", "address": 2,
         "role": "dispenser", "buttons": {0: "ZZ"}, "printer": "kp"},
        {"id": "strip", "profile": "at-strip", "line": "bus", "address": 3, "window": 1},
        {"id": "ev", "profile": "ff68-evaluator", "line": "led", "address": 2},
        {"id": "kp", "profile": "no-such-profile", "line": "led", "address": 4, "window": 1},
    ])
    assert found["serial.devices.0.line"] == "unknown line 'nope'"
    assert found["serial.devices.0.window"] == "unknown window 9"
    assert found["serial.devices.0.transfer_to"] == "unknown service 'XX'"
    assert found["serial.devices.1.buttons.0"] == "unknown service 'ZZ'"
    assert found["serial.devices.1.printer"] == "'kp' is not an escpos printer"
    assert "frames differently" in found["serial.devices.2.profile"]
    assert "give role" in found["serial.devices.3"]
    assert found["serial.devices.4.id"] == "duplicate device id 'kp'"
    assert "no profile 'no-such-profile'" in found["serial.devices.4.profile"]


def test_shape_errors_fail_at_parse_time() -> None:
    with pytest.raises(ValidationError, match="exactly one of line or port"):
        SerialSection.model_validate({"devices": [{"id": "p", "kind": "escpos"}]})
    with pytest.raises(ValidationError, match="needs an address"):
        SerialSection.model_validate(
            {"devices": [{"id": "k", "profile": "ff68-keypad", "line": "bus"}]}
        )
    with pytest.raises(ValidationError, match="Extra inputs"):
        SerialSection.model_validate({"devices": [], "templtes": {}})


def test_template_fields_are_checked() -> None:
    found = problems([], templates={"called": "请{tiket}号", "main_call": "{ticket}{ts}"})
    assert found == {"serial.templates.called": "unknown field(s) ['tiket']"}


def test_a_bad_section_stops_the_runner_at_construction(tmp_path: Path) -> None:
    bad = section(tmp_path, [{"id": "kp", "profile": "ff68-keypad", "line": "bus",
                              "address": 1, "window": 7}])
    with pytest.raises(SerialConfigError, match=r"serial\.devices\.0\.window: unknown window 7"):
        SerialDevices(bad, object(), HALL_CONFIG)  # type: ignore[arg-type]


def test_window_texts_follow_the_window_state() -> None:
    t = Templates()
    base = {"window": 5, "name": "5号窗口", "status": "open", "staff": None, "current": None}
    staff = {"id": "S5", "name": "王芳", "staff_no": "0105"}
    called = {"ticket": "A012", "service": "BDC", "state": "called", "recalls": 0}
    assert window_text(base | {"status": "closed"}, t) == "窗口关闭"
    assert window_text(base | {"status": "paused", "current": called}, t) == "暂停服务"
    assert window_text(base, t) == "5号窗口"
    assert window_text(base | {"staff": staff}, t) == "5号窗口 王芳 工号0105"
    assert window_text(base | {"staff": staff, "current": called}, t) == "请A012号到5号窗口"
    calls = {"calls": [{"ticket": f"A00{i}", "window": i, "window_name": f"{i}号窗口"}
                       for i in range(5, 0, -1)]}
    assert main_text(calls, t) == "A005→5号窗口  A004→4号窗口  A003→3号窗口"
    assert main_text({"calls": []}, t) == "欢迎光临"
    assert (ticket_digits("A012"), ticket_digits("B1234"), ticket_digits(None)) == (
        "012", "234", None)


async def test_the_supervisor_restarts_a_driver_that_raises() -> None:
    runs = 0
    recovered = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError("device said something odd")
        recovered.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(supervise("flaky", flaky, backoff_min=0.01))
    await asyncio.wait_for(recovered.wait(), 2)
    assert runs == 3 and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
