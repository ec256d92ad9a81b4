"""ZKTeco ADMS push: the tests play the clock (aiohttp client) against the real server.

The hall is 2026-11-25 09:30 in Shanghai; staff 0105 (王芳, hall id S005) punches at the clock
with serial CQUJ230160012, which the hall calls `clock-lobby`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from hallctl.attendance.config import AdmsClock, AdmsConfig
from hallctl.attendance.sink import AttendanceSink, StaffDirectory
from hallctl.attendance.zkteco_adms import AdmsReceiver, parse_attlog
from hallctl.transports.http import HttpServer
from tests.attendance_recorder import HallRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
SN = "CQUJ230160012"
STAFF = {"0105": "S005", "0231": "S031"}

CHECK_IN = "0105\t2026-11-25 08:59:01\t0\t15\t0\t0\t0"
CHECK_OUT = "0231\t2026-11-25 09:12:40\t1\t15\t0\t0\t0\t1\t36.5"


@dataclass
class Clock:
    """What a ZKTeco clock needs: the server's address and an HTTP client."""

    base: str
    http: aiohttp.ClientSession
    hall: HallRecorder
    receiver: AdmsReceiver

    async def get(self, path: str, sn: str = SN, **query: str) -> tuple[int, str]:
        async with self.http.get(self.base + path, params={"SN": sn, **query}) as response:
            return response.status, await response.text()

    async def post(
        self, path: str, body: bytes | str, sn: str = SN, **query: str
    ) -> tuple[int, str]:
        data = body.encode() if isinstance(body, str) else body
        async with self.http.post(
            self.base + path, params={"SN": sn, **query}, data=data
        ) as response:
            return response.status, await response.text()

    async def push(self, *lines: str, stamp: str = "9999") -> tuple[int, str]:
        body = "\n".join(lines) + "\n"
        return await self.post("/iclock/cdata", body, table="ATTLOG", Stamp=stamp)


def _config(**overrides: object) -> AdmsConfig:
    return AdmsConfig.model_validate({"clocks": [{"sn": SN, "device": "clock-lobby"}], **overrides})


@pytest.fixture
def hall() -> HallRecorder:
    return HallRecorder()


@pytest.fixture
async def clock(hall: HallRecorder, request: pytest.FixtureRequest) -> AsyncIterator[Clock]:
    config = getattr(request, "param", None) or _config()
    sink = AttendanceSink(hall, StaffDirectory(STAFF), now=lambda: NOW)
    receiver = AdmsReceiver(config, sink, SHANGHAI)
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(receiver.routes())
    async with server, aiohttp.ClientSession() as http:
        yield Clock(server.base_url, http, hall, receiver)


# -- handshake ------------------------------------------------------------------------------------


async def test_handshake_answers_the_options_block_for_the_clock(clock: Clock) -> None:
    status, text = await clock.get("/iclock/cdata", options="all", pushver="2.4.1")
    assert status == 200
    lines = text.splitlines()
    assert lines[0] == "GET OPTION FROM: " + SN
    options = dict(line.split("=", 1) for line in lines[1:])
    assert options["ATTLOGStamp"] == "None"
    assert options["ErrorDelay"] == "30"
    assert options["Delay"] == "10"
    assert options["TransTimes"] == "00:00;14:05"
    assert options["TransInterval"] == "1"
    assert options["TransFlag"] == "TransData AttLog"
    assert options["Realtime"] == "1"
    assert options["Encrypt"] == "0"
    assert options["TimeZone"] == "8"


async def test_handshake_after_an_upload_asks_only_for_newer_punches(clock: Clock) -> None:
    assert await clock.push(CHECK_IN, stamp="187422") == (200, "OK: 1")
    _, text = await clock.get("/iclock/cdata", options="all")
    assert "ATTLOGStamp=187422" in text.splitlines()


async def test_older_firmware_paths_with_aspx_work_too(clock: Clock) -> None:
    status, text = await clock.get("/iclock/cdata.aspx", options="all")
    assert status == 200 and text.startswith("GET OPTION FROM: " + SN)
    assert await clock.get("/iclock/getrequest.aspx") == (200, "OK")


# -- ATTLOG ---------------------------------------------------------------------------------------


async def test_attlog_lines_become_check_in_and_check_out_requests(clock: Clock) -> None:
    assert await clock.push(CHECK_IN, CHECK_OUT) == (200, "OK: 2")
    assert clock.hall.applied == [
        {
            "action": "staff_check_in",
            "staff": "S005",
            "device": "clock-lobby",
            "time": "2026-11-25T08:59:01+08:00",
            "request_id": "att:clock-lobby:0105@20261125T005901Z",
        },
        {
            "action": "staff_check_out",
            "staff": "S031",
            "device": "clock-lobby",
            "time": "2026-11-25T09:12:40+08:00",
            "request_id": "att:clock-lobby:0231@20261125T011240Z",
        },
    ]


async def test_form_encoded_data_body_is_read_like_a_raw_one(clock: Clock) -> None:
    async with clock.http.post(
        clock.base + "/iclock/cdata",
        params={"SN": SN, "table": "ATTLOG", "Stamp": "1"},
        data={"data": CHECK_IN + "\n" + CHECK_OUT + "\n"},
    ) as response:
        assert response.status == 200
        assert await response.text() == "OK: 2"
    assert [p[:2] for p in clock.hall.punches()] == [
        ("staff_check_in", "S005"),
        ("staff_check_out", "S031"),
    ]


async def test_malformed_lines_are_quarantined_and_counted_good_ones_recorded(
    clock: Clock,
) -> None:
    body = [
        "0105",  # too few fields
        "0105\t2026-13-45 08:00:00\t0\t15",  # no such date
        "0105\t2026-11-25 08:00:00\tin\t15",  # status not a number
        "01 05;drop\t2026-11-25 08:00:00\t0\t15",  # not a PIN
        CHECK_IN,
        "",
        CHECK_OUT,
    ]
    status, text = await clock.push(*body)
    assert (status, text) == (200, "OK: 6")  # all taken: resending bad lines helps nobody
    assert len(clock.hall.applied) == 2
    assert clock.receiver.stats["malformed"] == 4
    assert [q.line for q in clock.receiver.quarantine.lines()][::-1] == body[:4]
    assert clock.receiver.stats["lines"] == 2


async def test_a_clock_resending_after_a_lost_answer_is_recorded_once(clock: Clock) -> None:
    assert await clock.push(CHECK_IN, CHECK_OUT) == (200, "OK: 2")
    assert await clock.push(CHECK_IN, CHECK_OUT) == (200, "OK: 2")
    assert len(clock.hall.applied) == 2
    assert len(clock.hall.calls) == 2  # the repeat did not even reach the hall


async def test_resends_after_the_window_reach_the_hall_with_the_same_request_id(
    hall: HallRecorder,
) -> None:
    sink = AttendanceSink(hall, StaffDirectory(STAFF), dedup_window_s=0, now=lambda: NOW)
    receiver = AdmsReceiver(_config(), sink, SHANGHAI)
    server = HttpServer("127.0.0.1", 0)
    server.add_routes(receiver.routes())
    async with server, aiohttp.ClientSession() as http:
        client = Clock(server.base_url, http, hall, receiver)
        await client.push(CHECK_IN)
        await client.push(CHECK_IN)
    assert len(hall.calls) == 2
    assert hall.calls[0]["request_id"] == hall.calls[1]["request_id"]
    assert len(hall.applied) == 1


async def test_unknown_staff_is_counted_and_skipped(clock: Clock) -> None:
    stranger = "9999\t2026-11-25 09:00:00\t0\t15\t0\t0\t0"
    assert await clock.push(stranger, CHECK_IN) == (200, "OK: 2")
    assert [p[1] for p in clock.hall.punches()] == ["S005"]


async def test_a_pin_without_its_leading_zeros_still_finds_the_staff(clock: Clock) -> None:
    await clock.push("105\t2026-11-25 08:59:01\t0\t15\t0\t0\t0")
    assert [p[1] for p in clock.hall.punches()] == ["S005"]


async def test_unmapped_status_is_not_recorded_but_kept_in_the_quarantine(clock: Clock) -> None:
    line = "0105\t2026-11-25 08:59:01\t255\t15\t0\t0\t0"
    assert await clock.push(line) == (200, "OK: 1")
    assert clock.hall.applied == []
    assert clock.receiver.stats["unmapped_status"] == 1
    [kept] = clock.receiver.quarantine.lines()
    assert (kept.line, kept.reason) == (line, "status not in adms.status_map")


@pytest.mark.parametrize(
    "clock", [_config(status_map={0: "in", 1: "out", 2: "out", 3: "in"})], indirect=True
)
async def test_break_statuses_map_as_configured(clock: Clock) -> None:
    await clock.push(
        "0105\t2026-11-25 09:00:00\t2\t15\t0\t0\t0", "0105\t2026-11-25 09:20:00\t3\t15\t0\t0\t0"
    )
    assert [p[0] for p in clock.hall.punches()] == ["staff_check_out", "staff_check_in"]


async def test_a_replayed_old_log_does_not_reach_the_hall(clock: Clock) -> None:
    last_week = "0105\t2026-11-18 08:59:01\t0\t15\t0\t0\t0"
    assert await clock.push(last_week, CHECK_IN) == (200, "OK: 2")
    assert [p[3] for p in clock.hall.punches()] == ["2026-11-25T08:59:01+08:00"]


async def test_while_the_hall_is_down_the_clock_is_told_to_keep_its_lines(clock: Clock) -> None:
    clock.hall.down = True
    status, text = await clock.push(CHECK_IN, CHECK_OUT, stamp="500")
    assert status == 503 and not text.startswith("OK")
    _, options = await clock.get("/iclock/cdata", options="all")
    assert "ATTLOGStamp=None" in options.splitlines()  # the stamp did not move on
    clock.hall.down = False
    assert await clock.push(CHECK_IN, CHECK_OUT, stamp="500") == (200, "OK: 2")
    assert len(clock.hall.applied) == 2


async def test_other_tables_are_acknowledged_and_not_recorded(clock: Clock) -> None:
    operlog = "USER PIN=0105\tName=王芳\tPri=0\nOPLOG 4\t0\t2026-11-25 08:00:00\t0\t0\t0\t0\n"
    assert await clock.post("/iclock/cdata", operlog, table="OPERLOG", Stamp="1") == (
        200,
        "OK: 2",
    )
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 200
    assert await clock.post("/iclock/cdata", jpeg, table="ATTPHOTO", Stamp="1") == (200, "OK")
    assert clock.hall.calls == []


# -- allow-list -----------------------------------------------------------------------------------


async def test_an_unknown_serial_number_is_refused_everywhere_and_nothing_recorded(
    clock: Clock,
) -> None:
    other = "AEXQ000000001"
    assert (await clock.get("/iclock/cdata", sn=other, options="all"))[0] == 403
    body = CHECK_IN + "\n"
    assert (await clock.post("/iclock/cdata", body, sn=other, table="ATTLOG"))[0] == 403
    assert (await clock.get("/iclock/getrequest", sn=other))[0] == 403
    assert (await clock.post("/iclock/devicecmd", "ID=1&Return=0", sn=other))[0] == 403
    assert (await clock.get("/iclock/cdata", sn="", options="all"))[0] == 403
    assert clock.hall.calls == []
    assert clock.receiver.stats["unknown_sn"] == 5


# -- commands -------------------------------------------------------------------------------------


async def test_every_request_of_a_known_clock_marks_it_seen(clock: Clock) -> None:
    assert clock.receiver.last_seen == {}
    await clock.get("/iclock/getrequest", sn="AEXQ000000001")
    assert clock.receiver.last_seen == {}
    await clock.get("/iclock/getrequest")
    assert set(clock.receiver.last_seen) == {"clock-lobby"}


async def test_getrequest_answers_ok_when_nothing_is_queued(clock: Clock) -> None:
    assert await clock.get("/iclock/getrequest", INFO="Ver 8.0.4,3,0,0,192.168.1.201") == (
        200,
        "OK",
    )


async def test_a_queued_command_is_sent_once_and_its_result_kept(clock: Clock) -> None:
    command_id = clock.receiver.queue_command("clock-lobby", "INFO")
    assert await clock.get("/iclock/getrequest") == (200, "C:" + str(command_id) + ":INFO\n")
    assert await clock.get("/iclock/getrequest") == (200, "OK")
    result_body = "ID=" + str(command_id) + "&Return=0&CMD=INFO\n"
    assert await clock.post("/iclock/devicecmd", result_body) == (200, "OK")
    result = clock.receiver.results[command_id]
    assert (result.device, result.return_code, result.command) == ("clock-lobby", 0, "INFO")


async def test_a_result_for_a_command_never_sent_is_counted_not_kept(clock: Clock) -> None:
    assert await clock.post("/iclock/devicecmd", "ID=77&Return=-1002&CMD=DATA\n") == (200, "OK")
    assert clock.receiver.results == {}
    assert clock.receiver.stats["unexpected_result"] == 1


async def test_commands_are_refused_for_unknown_devices_and_multi_line_text(clock: Clock) -> None:
    with pytest.raises(KeyError):
        clock.receiver.queue_command("clock-roof", "INFO")
    with pytest.raises(ValueError):
        clock.receiver.queue_command("clock-lobby", "INFO\nC:9:REBOOT")


# -- the parser alone -----------------------------------------------------------------------------


def test_parse_attlog_reads_hall_local_time_and_the_optional_mask_fields() -> None:
    lines, malformed = parse_attlog(CHECK_OUT + "\r\n", SHANGHAI)
    assert malformed == []
    assert lines[0].pin == "0231"
    assert lines[0].status == 1
    assert lines[0].time == datetime(2026, 11, 25, 1, 12, 40, tzinfo=ZoneInfo("UTC"))
    assert lines[0].time.utcoffset() == timedelta(hours=8)


def test_config_refuses_a_serial_number_listed_twice() -> None:
    with pytest.raises(ValueError, match="unique"):
        AdmsConfig(clocks=[AdmsClock(sn=SN, device="clock-a"), AdmsClock(sn=SN, device="clock-b")])
