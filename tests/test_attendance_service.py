"""The attendance section of a hall file, wired as the daemon will: every source, one server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from ruamel.yaml import YAML

from hallctl.attendance.config import AttendanceConfig, MqttFaceProfile
from hallctl.attendance.service import AttendanceService
from hallctl.transports.http import HttpServer
from tests.attendance_recorder import HallRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")

HALL_FILE_SECTION = """
timezone: Asia/Shanghai
staff:
  "0105": S005
adms:
  clocks:
    - {sn: CQUJ230160012, device: clock-lobby}
isapi:
  terminals:
    - {device: face-east, ip: 127.0.0.1}
mqtt:
  - profile: generic-json
    terminals: {FT-01: face-side}
"""

PROFILE = MqttFaceProfile.model_validate(
    {
        "name": "generic-json",
        "topic": "face/+/punch",
        "fields": {"device_id": "$topic[1]", "staff_id": "personId", "time": "time"},
        "direction_default": "in",
    }
)


def _config() -> AttendanceConfig:
    return AttendanceConfig.model_validate(YAML(typ="safe").load(HALL_FILE_SECTION))


async def test_one_server_takes_punches_from_every_kind_of_clock() -> None:
    hall = HallRecorder()
    service = AttendanceService.build(
        _config(), hall, {"generic-json": PROFILE}, staff={"0231": "S031"}
    )
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(service.routes())
    recent = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(minutes=5)
    local = recent.strftime("%Y-%m-%d %H:%M:%S")

    async with server, aiohttp.ClientSession() as http:
        async with http.post(
            server.base_url + "/iclock/cdata",
            params={"SN": "CQUJ230160012", "table": "ATTLOG", "Stamp": "1"},
            data=("0105\t" + local + "\t0\t15\t0\t0\t0\n0105 unreadable\n").encode(),
        ) as response:
            assert await response.text() == "OK: 2"
        event = {
            "eventType": "AccessControllerEvent",
            "dateTime": recent.isoformat(),
            "AccessControllerEvent": {
                "majorEventType": 5,
                "subEventType": 75,
                "employeeNoString": "0231",
                "attendanceStatus": "checkOut",
            },
        }
        async with http.post(server.base_url + "/isapi/events", json=event) as response:
            assert response.status == 200

    assert service.mqtt_topics() == ["face/+/punch"]
    punch = {"personId": "0105", "time": (recent + timedelta(minutes=1)).isoformat()}
    await service.on_mqtt_message("face/FT-01/punch", json.dumps(punch).encode())
    await service.on_mqtt_message("face/FT-77/punch", json.dumps(punch).encode())  # unlisted

    assert [(p[0], p[1], p[2]) for p in hall.punches()] == [
        ("staff_check_in", "S005", "clock-lobby"),
        ("staff_check_out", "S031", "face-east"),
        ("staff_check_in", "S005", "face-side"),
    ]
    status = service.status()
    assert status["quarantined_lines"] == 1  # the unreadable line, kept
    assert status["adms"]["quarantined"] == 1 and status["delivery"]["recorded"] == 3


def test_a_binding_to_a_missing_profile_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="generic-json"):
        AttendanceService.build(_config(), HallRecorder(), {})


async def test_run_returns_at_once_without_tcp_clocks() -> None:
    service = AttendanceService.build(_config(), HallRecorder(), {"generic-json": PROFILE})
    await service.run()
