"""Hostile JSON at every entry point: about 1,100 nesting levels in a 1 KB message.

The C decoder recurses, so such a message used to raise RecursionError past every
``except JSONDecodeError``: it dropped the MQTT link, killed control connections, left kiosks
unanswered and answered 500 on the ISAPI endpoint. Every entry point decodes through
``hallctl.json_input`` now and answers a clear error; the connection stays up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from hallctl import json_input
from hallctl.attendance.config import IsapiConfig
from hallctl.attendance.hikvision_isapi import IsapiReceiver
from hallctl.attendance.mqtt_face import MapError, MqttFaceMapper
from hallctl.attendance.sink import AttendanceSink, StaffDirectory
from hallctl.broker import Mosquitto
from hallctl.control import ControlServer
from hallctl.journal import Journal
from hallctl.transports.http import HttpServer
from tests.attendance_recorder import HallRecorder
from tests.test_attendance_isapi import NOW, SHANGHAI
from tests.test_attendance_mqtt import load_profile
from tests.test_kiosk_support import running_hall
from tests.test_mqtt_support import (
    BROKER_OPTIONS,
    StandInEngine,
    requester,
    running_link,
    settings_for,
)

DEEP_ARRAY = b"[" * 1100 + b"]" * 1100  # 2.2 KB
DEEP_OBJECT = b'{"a":' * 1100 + b"1" + b"}" * 1100
DEEP_FIELD = b'{"window": ' + b"[" * 1100 + b"]" * 1100 + b"}"


@pytest.mark.parametrize("data", [DEEP_ARRAY, DEEP_OBJECT, DEEP_FIELD])
def test_deep_nesting_is_a_clear_error_not_a_recursion_error(data: bytes) -> None:
    with pytest.raises(json_input.JsonInputError, match="nested too deeply"):
        json_input.loads(data)


def test_nesting_within_the_limit_decodes() -> None:
    depth = json_input.MAX_DEPTH
    assert json_input.loads(b"[" * depth + b"]" * depth) is not None
    with pytest.raises(json_input.JsonInputError):
        json_input.loads(b"[" * (depth + 1) + b"]" * (depth + 1))


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = json.dumps({"note": "[" * 2000, "list": [[1]]})
    assert json_input.loads(text)["list"] == [[1]]


@pytest.mark.parametrize("data", [b"NaN", b'{"window": Infinity}', b"\xff", b"{", b""])
def test_not_json_is_refused(data: bytes) -> None:
    with pytest.raises(json_input.JsonInputError):
        json_input.loads(data)


# ---- MQTT requests: the link stays up -------------------------------------------------------


@pytest.fixture
def broker(mosquitto_factory: Any) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[no-any-return]


async def test_a_deep_mqtt_request_is_answered_bad_json_and_the_link_stays_up(
    broker: Mosquitto, tmp_path: Path
) -> None:
    with Journal(tmp_path / "journal.db") as journal:
        engine = StandInEngine(journal)
        async with running_link(engine, settings_for(broker.url)) as link, \
                requester(broker.url, link.topics.base) as backend:
            for data in (DEEP_ARRAY, DEEP_FIELD):
                answer = await backend.call("open_window", data)
                assert answer["ok"] is False and answer["error"]["code"] == "bad_json"
                assert "nested too deeply" in answer["error"]["message"]
            assert (await backend.call("open_window", {"window": 5}))["ok"] is True
            assert link.stats.connects == 1 and link.stats.failures == 0
            assert [r["action"] for r in engine.requests] == ["open_window"]


async def test_a_deep_kiosk_request_is_answered_and_the_kiosk_goes_on(
    broker: Mosquitto, tmp_path: Path
) -> None:
    async with running_hall(broker.url, tmp_path) as hall, hall.kiosk("K1") as kiosk:
        answer = await kiosk.request("take_ticket", DEEP_OBJECT, timeout_s=5)
        assert answer["ok"] is False and answer["error"]["code"] == "bad_json"
        assert (await kiosk.request("list_services", {}, timeout_s=5))["ok"] is True
        assert hall.journal_types() == []  # nothing changed


# ---- the control socket: the connection stays up --------------------------------------------


async def _hall(request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "result": {"action": request.get("action")}}


async def test_a_deep_control_line_is_answered_and_the_connection_goes_on(
    short_tmp_path: Path,
) -> None:
    path = short_tmp_path / "control.sock"
    async with ControlServer(path, _hall):
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(DEEP_ARRAY + b"\n" + b'{"action": "status"}\n')
        await writer.drain()
        async with asyncio.timeout(5):
            first = json.loads(await reader.readline())
            second = json.loads(await reader.readline())
        writer.close()
        await writer.wait_closed()
    assert first["ok"] is False and first["error"]["code"] == "bad_json"
    assert "nested too deeply" in first["error"]["message"]
    assert second == {"ok": True, "result": {"action": "status"}}


# ---- push devices ----------------------------------------------------------------------------


@pytest.fixture
async def isapi() -> AsyncIterator[tuple[str, HallRecorder]]:
    hall = HallRecorder()
    sink = AttendanceSink(hall, StaffDirectory({"0105": "S005"}), now=lambda: NOW)
    config = IsapiConfig.model_validate({"terminals": [{"device": "face", "ip": "127.0.0.1"}]})
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(IsapiReceiver(config, sink, SHANGHAI).routes())
    async with server:
        yield server.base_url + "/isapi/events", hall


async def test_a_deep_isapi_event_is_a_400_not_a_500(
    isapi: tuple[str, HallRecorder],
) -> None:
    url, hall = isapi
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=DEEP_OBJECT, headers=headers) as response:
            assert response.status == 400
            assert "nested too deeply" in await response.text()
        form = aiohttp.FormData()
        form.add_field("event_log", DEEP_ARRAY.decode(), content_type="application/json")
        async with http.post(url, data=form) as response:
            assert response.status == 400
    assert hall.calls == []


def test_a_deep_mqtt_face_message_is_not_json() -> None:
    mapper = MqttFaceMapper(load_profile("generic-json"), {}, ZoneInfo("Asia/Shanghai"))
    result = mapper.map("face/FT-01/event", DEEP_OBJECT)
    assert result == MapError("not_json")
