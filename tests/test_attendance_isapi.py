"""Hikvision ISAPI event push: the tests play the face terminal against the real server.

The terminal at 127.0.0.1 is known by its address (`face-east`); a second one behind NAT is
known by the token in its URL (`face-west`). Employee 0105 is hall staff S005.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from hallctl.attendance.config import IsapiConfig
from hallctl.attendance.hikvision_isapi import IsapiReceiver
from hallctl.attendance.sink import AttendanceSink, StaffDirectory
from hallctl.transports.http import HttpServer
from tests.attendance_recorder import HallRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
TOKEN = "west-7f3a9c21"
FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


def event(
    status: str = "checkIn",
    employee: str | None = "0105",
    sub: int = 75,
    when: str = "2026-11-25T08:59:01+08:00",
    serial: int = 4711,
) -> dict[str, Any]:
    ace: dict[str, Any] = {
        "deviceName": "Access Controller",
        "majorEventType": 5,
        "subEventType": sub,
        "name": "王芳",
        "cardReaderNo": 1,
        "serialNo": serial,
        "userType": "normal",
        "currentVerifyMode": "cardOrFace",
        "attendanceStatus": status,
        "mask": "no",
        "picturesNumber": 1,
    }
    if employee is not None:
        ace["employeeNoString"] = employee
    return {
        "ipAddress": "192.168.1.64",
        "portNo": 80,
        "protocol": "HTTP",
        "macAddress": "24:0f:9b:00:00:01",
        "channelID": 1,
        "dateTime": when,
        "activePostCount": 1,
        "eventType": "AccessControllerEvent",
        "eventState": "active",
        "eventDescription": "Access Controller Event",
        "AccessControllerEvent": ace,
    }


@dataclass
class Terminal:
    base: str
    http: aiohttp.ClientSession
    hall: HallRecorder
    receiver: IsapiReceiver

    async def post_json(self, body: dict[str, Any], path: str = "/isapi/events") -> int:
        async with self.http.post(self.base + path, json=body) as response:
            return response.status

    async def post_multipart(
        self, body: dict[str, Any], picture: bytes | None = FAKE_JPEG, part: str = "event_log"
    ) -> int:
        form = aiohttp.FormData()
        form.add_field(part, json.dumps(body), content_type="application/json")
        if picture is not None:
            form.add_field("Picture", picture, filename="Picture.jpg", content_type="image/jpeg")
        async with self.http.post(self.base + "/isapi/events", data=form) as response:
            return response.status


CONFIG = IsapiConfig.model_validate(
    {
        "terminals": [
            {"device": "face-east", "ip": "127.0.0.1"},
            {"device": "face-west", "token": TOKEN},
        ]
    }
)


async def _terminal(
    hall: HallRecorder, config: IsapiConfig = CONFIG, picture_dir: Path | None = None
) -> AsyncIterator[Terminal]:
    sink = AttendanceSink(hall, StaffDirectory({"0105": "S005"}), now=lambda: NOW)
    receiver = IsapiReceiver(config, sink, SHANGHAI, picture_dir=picture_dir)
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(receiver.routes())
    async with server, aiohttp.ClientSession() as http:
        yield Terminal(server.base_url, http, hall, receiver)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
async def terminal() -> AsyncIterator[Terminal]:
    async for t in _terminal(HallRecorder()):
        yield t


async def test_a_json_face_punch_becomes_a_check_in(terminal: Terminal) -> None:
    assert await terminal.post_json(event()) == 200
    assert terminal.hall.applied == [
        {
            "action": "staff_check_in",
            "staff": "S005",
            "device": "face-east",
            "time": "2026-11-25T08:59:01+08:00",
            "request_id": "att:face-east:0105@20261125T005901Z",
        }
    ]


async def test_check_out_status_becomes_a_check_out(terminal: Terminal) -> None:
    await terminal.post_json(event(status="checkOut", when="2026-11-25T09:20:00+08:00"))
    assert terminal.hall.punches() == [
        ("staff_check_out", "S005", "face-east", "2026-11-25T09:20:00+08:00")
    ]


async def test_multipart_with_a_picture_records_the_punch_and_drops_the_picture(
    terminal: Terminal,
) -> None:
    assert await terminal.post_multipart(event()) == 200
    assert [p[:2] for p in terminal.hall.punches()] == [("staff_check_in", "S005")]
    sent = json.dumps(terminal.hall.calls, ensure_ascii=False)
    assert "王芳" not in sent and "JFIF" not in sent and "192.168.1.64" not in sent


async def test_older_firmware_naming_the_part_after_the_event_type_works(
    terminal: Terminal,
) -> None:
    assert await terminal.post_multipart(event(), part="AccessControllerEvent") == 200
    assert len(terminal.hall.applied) == 1


async def test_pictures_are_kept_locally_only_when_configured(tmp_path: Path) -> None:
    async for t in _terminal(HallRecorder(), picture_dir=tmp_path):
        assert await t.post_multipart(event()) == 200
    kept = tmp_path / "face-east" / "0105@20261125T005901Z.jpg"
    assert kept.read_bytes() == FAKE_JPEG
    assert _files(tmp_path) == [kept]


async def test_a_terminal_behind_nat_is_known_by_its_token(terminal: Terminal) -> None:
    assert await terminal.post_json(event(), path="/isapi/events/" + TOKEN) == 200
    assert [p[2] for p in terminal.hall.punches()] == ["face-west"]


async def test_a_wrong_token_is_refused_and_nothing_recorded(terminal: Terminal) -> None:
    assert await terminal.post_json(event(), path="/isapi/events/guessed-token") == 403
    assert terminal.hall.calls == []
    assert terminal.receiver.stats["unknown_terminal"] == 1


async def test_an_address_not_on_the_allow_list_is_refused() -> None:
    only_remote = IsapiConfig.model_validate(
        {"terminals": [{"device": "face-east", "ip": "10.20.0.9"}]}
    )
    async for t in _terminal(HallRecorder(), only_remote):
        assert await t.post_json(event()) == 403
        assert await t.post_multipart(event()) == 403
        assert t.hall.calls == []


async def test_a_resent_event_is_recorded_once(terminal: Terminal) -> None:
    assert await terminal.post_json(event()) == 200
    assert await terminal.post_multipart(event()) == 200  # same punch, resent with the picture
    assert len(terminal.hall.applied) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"ipAddress": "192.168.1.64", "eventType": "heartBeat", "dateTime": "2026-11-25T09:00:00"},
        event(sub=76),  # face authentication failed
        event(employee=None, sub=75),  # stranger: no employee number
        event(status="breakOut"),  # not mapped by default
        event(status="undefined"),
        {
            **event(),
            "AccessControllerEvent": {**event()["AccessControllerEvent"], "majorEventType": 3},
        },
    ],
    ids=["heartbeat", "face-failed", "stranger", "break-out", "undefined-status", "operation"],
)
async def test_events_that_are_not_punches_are_acknowledged_and_ignored(
    terminal: Terminal, body: dict[str, Any]
) -> None:
    assert await terminal.post_json(body) == 200
    assert terminal.hall.calls == []


async def test_xml_alerts_from_older_firmware_are_acknowledged_and_ignored(
    terminal: Terminal,
) -> None:
    xml = "<EventNotificationAlert><eventType>videoloss</eventType></EventNotificationAlert>"
    async with terminal.http.post(
        terminal.base + "/isapi/events", data=xml, headers={"Content-Type": "application/xml"}
    ) as response:
        assert response.status == 200
    assert terminal.hall.calls == []


async def test_a_time_without_offset_is_hall_local(terminal: Terminal) -> None:
    await terminal.post_json(event(when="2026-11-25T08:59:01"))
    assert [p[3] for p in terminal.hall.punches()] == ["2026-11-25T08:59:01+08:00"]


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"[1, 2, 3]", b"\xff\xfe\x00"],
    ids=["broken-json", "json-array", "binary"],
)
async def test_bad_bodies_get_400_and_the_server_carries_on(
    terminal: Terminal, payload: bytes
) -> None:
    async with terminal.http.post(
        terminal.base + "/isapi/events",
        data=payload,
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
    assert await terminal.post_json(event()) == 200
    assert len(terminal.hall.applied) == 1


async def test_multipart_without_an_event_part_is_a_bad_request(terminal: Terminal) -> None:
    form = aiohttp.FormData()
    form.add_field("Picture", FAKE_JPEG, filename="Picture.jpg", content_type="image/jpeg")
    async with terminal.http.post(terminal.base + "/isapi/events", data=form) as response:
        assert response.status == 400
    assert terminal.hall.calls == []


async def test_while_the_hall_is_down_the_terminal_is_told_to_resend(terminal: Terminal) -> None:
    terminal.hall.down = True
    assert await terminal.post_json(event()) == 503
    terminal.hall.down = False
    assert await terminal.post_json(event()) == 200
    assert len(terminal.hall.applied) == 1


async def test_unknown_employee_is_acknowledged_counted_and_not_sent(terminal: Terminal) -> None:
    assert await terminal.post_json(event(employee="7777")) == 200
    assert terminal.hall.calls == []


def test_a_terminal_needs_an_address_or_a_token() -> None:
    with pytest.raises(ValueError, match="ip or a token"):
        IsapiConfig.model_validate({"terminals": [{"device": "face-east"}]})
