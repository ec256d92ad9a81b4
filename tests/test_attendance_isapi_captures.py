"""Hikvision ISAPI pushes as production terminals send them (captures by other projects).

- fields of unexpected types (objects, lists) are not a punch, never a server error;
- a multipart boundary whose case differs between the header and the body is read;
- a body with several events has every one of them taken, each with its own picture.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hallctl.attendance.config import IsapiConfig
from hallctl.attendance.hikvision_isapi import IsapiReceiver
from hallctl.attendance.sink import AttendanceSink, StaffDirectory
from hallctl.transports.http import HttpServer
from tests.attendance_recorder import HallRecorder
from tests.test_attendance_isapi import FAKE_JPEG, NOW, SHANGHAI, TOKEN, event

STAFF = {"0105": "S005", "0231": "S031"}
OTHER_JPEG = b"\xff\xd8\xff\xe1" + b"\r\n--MIME\r\n" * 3 + bytes(range(255, -1, -1)) + b"\xff\xd9"


class Terminal:
    def __init__(self, base: str, http: aiohttp.ClientSession, hall: HallRecorder) -> None:
        self.base, self.http, self.hall = base, http, hall

    async def post(self, body: bytes, content_type: str, path: str = "/isapi/events") -> int:
        async with self.http.post(self.base + path, data=body,
                                  headers={"Content-Type": content_type}) as response:
            return response.status


async def _terminal(config: dict[str, Any] | None = None,
                    picture_dir: Path | None = None) -> AsyncIterator[Terminal]:
    cfg = IsapiConfig.model_validate(config or {"terminals": [
        {"device": "face-east", "ip": "127.0.0.1"}]})
    hall = HallRecorder()
    sink = AttendanceSink(hall, StaffDirectory(STAFF), now=lambda: NOW)
    receiver = IsapiReceiver(cfg, sink, SHANGHAI, picture_dir=picture_dir)
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(receiver.routes())
    async with server, aiohttp.ClientSession() as http:
        yield Terminal(server.base_url, http, hall)


@pytest.fixture
async def terminal() -> AsyncIterator[Terminal]:
    async for t in _terminal():
        yield t


def multipart(boundary_in_body: str, *parts: tuple[str, bytes, str | None]) -> bytes:
    """A body written by hand, as the terminal writes it: (part name, bytes, file name)."""
    out = b""
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename
                                                     else "")
        kind = "image/jpeg" if filename else "application/json"
        out += (f"--{boundary_in_body}\r\nContent-Disposition: {disposition}\r\n"
                f"Content-Type: {kind}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        out += data + b"\r\n"
    return out + f"--{boundary_in_body}--\r\n".encode()


def ace(**fields: Any) -> dict[str, Any]:
    body = event()
    return {**body, "AccessControllerEvent": {**body["AccessControllerEvent"], **fields}}


@pytest.mark.parametrize(
    "body",
    [
        ace(subEventType={"value": 75}),
        ace(subEventType=[75]),
        ace(majorEventType={"5": 5}),
        ace(employeeNoString={"id": "0105"}),
        ace(employeeNoString=["0105"]),
        ace(employeeNoString=True),
        ace(attendanceStatus={"status": "checkIn"}),
        {**event(), "dateTime": {"utc": "2026-11-25T00:59:01Z"}},
        {**event(), "dateTime": "0001-01-01T00:00:00+08:00"},
        {**event(), "AccessControllerEvent": [event()["AccessControllerEvent"]]},
        {**event(), "eventType": ["AccessControllerEvent"]},
    ],
    ids=["sub-object", "sub-array", "major-object", "employee-object", "employee-array",
         "employee-bool", "status-object", "time-object", "time-year-1", "ace-array",
         "type-array"],
)
async def test_fields_of_unexpected_types_are_not_a_punch_and_not_a_server_error(
    terminal: Terminal, body: dict[str, Any]
) -> None:
    assert await terminal.post(json.dumps(body).encode(), "application/json") == 200
    assert terminal.hall.calls == []


async def test_sub_event_type_as_decimal_text_is_read_as_the_number(terminal: Terminal) -> None:
    assert await terminal.post(json.dumps(ace(subEventType="75")).encode(),
                               "application/json") == 200
    assert [p[:2] for p in terminal.hall.punches()] == [("staff_check_in", "S005")]


async def test_a_boundary_whose_case_differs_between_header_and_body_is_read(
    tmp_path: Path,
) -> None:
    body = multipart("mime_boundary", ("event_log", json.dumps(event()).encode(), None),
                     ("Picture", FAKE_JPEG, "Picture.jpg"))
    async for t in _terminal(picture_dir=tmp_path):
        assert await t.post(body, "multipart/form-data; boundary=MIME_boundary") == 200
        assert [p[:2] for p in t.hall.punches()] == [("staff_check_in", "S005")]
    assert (tmp_path / "face-east" / "0105@20261125T005901Z.jpg").read_bytes() == FAKE_JPEG


async def test_a_boundary_found_nowhere_in_the_body_is_a_bad_request(terminal: Terminal) -> None:
    body = multipart("other", ("event_log", json.dumps(event()).encode(), None))
    assert await terminal.post(body, "multipart/form-data; boundary=MIME_boundary") == 400
    assert terminal.hall.calls == []


async def test_every_event_part_of_a_body_is_taken_each_with_its_own_picture(
    tmp_path: Path,
) -> None:
    first = event(employee="0105", when="2026-11-25T08:59:01+08:00")
    second = event(employee="0231", status="checkOut", when="2026-11-25T09:12:40+08:00")
    body = multipart("MIME_boundary",
                     ("event_log", json.dumps(first).encode(), None),
                     ("Picture", FAKE_JPEG, "Picture.jpg"),
                     ("event_log", json.dumps(second).encode(), None),
                     ("Picture", OTHER_JPEG, "Picture.jpg"))
    async for t in _terminal(picture_dir=tmp_path):
        assert await t.post(body, "multipart/form-data; boundary=MIME_boundary") == 200
        assert [p[:3] for p in t.hall.punches()] == [
            ("staff_check_in", "S005", "face-east"),
            ("staff_check_out", "S031", "face-east"),
        ]
    assert (tmp_path / "face-east" / "0105@20261125T005901Z.jpg").read_bytes() == FAKE_JPEG
    assert (tmp_path / "face-east" / "0231@20261125T011240Z.jpg").read_bytes() == OTHER_JPEG


async def test_a_token_terminal_is_taken_only_from_its_allow_list() -> None:
    config = {"terminals": [{"device": "face-west", "token": TOKEN, "allow_from": ["10.9.0.0/16"]}]}
    async for t in _terminal(config):
        status = await t.post(json.dumps(event()).encode(), "application/json",
                              path="/isapi/events/" + TOKEN)
        assert status == 403
        assert t.hall.calls == []
    config["terminals"][0]["allow_from"] = ["127.0.0.0/8"]
    async for t in _terminal(config):
        assert await t.post(json.dumps(event()).encode(), "application/json",
                            path="/isapi/events/" + TOKEN) == 200
        assert len(t.hall.applied) == 1
