"""ZKTeco ADMS as real clocks send it (captures by other projects), and who may push.

- `INFO` results come with one `name=value` line per device property;
- form bodies carry `table=`/`Stamp=`/`SN=` before `data=`;
- a line nobody can read is kept raw (in the journal's database file) before the clock hears OK;
- a clock may be tied to source addresses and to its communication key (`pushcommkey`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from hallctl.attendance.access import key_digest
from hallctl.attendance.config import AdmsConfig
from hallctl.attendance.sink import AttendanceSink, StaffDirectory
from hallctl.attendance.store import AttendanceStore
from hallctl.attendance.zkteco_adms import AdmsReceiver
from hallctl.journal import Journal
from hallctl.transports.http import HttpServer
from tests.attendance_recorder import HallRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
SN = "CQUJ230160012"
CHECK_IN = "0105\t2026-11-25 08:59:01\t0\t15\t0\t0\t0"
CHECK_OUT = "0231\t2026-11-25 09:12:40\t1\t15\t0\t0\t0\t1\t36.5"
KEY = "20261125"


class Clock:
    def __init__(self, base: str, http: aiohttp.ClientSession, hall: HallRecorder,
                 receiver: AdmsReceiver) -> None:
        self.base, self.http, self.hall, self.receiver = base, http, hall, receiver

    async def call(self, method: str, path: str, body: str = "", **query: str) -> tuple[int, str]:
        async with self.http.request(method, self.base + path, params={"SN": SN, **query},
                                     data=body.encode()) as response:
            return response.status, await response.text()


async def _clock(tmp: Path, clock: dict[str, Any] | None = None,
                 hall: HallRecorder | None = None) -> AsyncIterator[Clock]:
    config = AdmsConfig.model_validate(
        {"clocks": [{"sn": SN, "device": "clock-lobby", **(clock or {})}]})
    hall = hall or HallRecorder()
    sink = AttendanceSink(hall, StaffDirectory({"0105": "S005", "0231": "S031"}),
                          now=lambda: NOW)
    with Journal(tmp / "journal.db") as journal:
        store = AttendanceStore(journal.path)
        receiver = AdmsReceiver(config, sink, SHANGHAI, store)
        server = HttpServer("127.0.0.1", 0)
        server.add_routes(receiver.routes())
        async with server, aiohttp.ClientSession() as http:
            yield Clock(server.base_url, http, hall, receiver)
        store.close()


@pytest.fixture
async def clock(tmp_path: Path) -> AsyncIterator[Clock]:
    async for c in _clock(tmp_path):
        yield c


# -- INFO ------------------------------------------------------------------------------------------


async def test_a_multi_line_info_result_is_device_information_not_unexpected_results(
    clock: Clock,
) -> None:
    command_id = clock.receiver.queue_command("clock-lobby", "INFO")
    assert await clock.call("GET", "/iclock/getrequest") == (200, f"C:{command_id}:INFO\n")
    body = (f"ID={command_id}&Return=0&CMD=INFO\n~DeviceName=SpeedFace-V5L\nMAC=00:17:61:12:ab:cd\n"
            "TransactionCount=1830\nUserCount=57\nFWVersion=Ver 6.60 Sep 23 2015\n"
            "IPAddress=192.168.1.201\n")
    assert await clock.call("POST", "/iclock/devicecmd", body) == (200, "OK")
    assert clock.receiver.stats["unexpected_result"] == 0
    assert clock.receiver.results[command_id].return_code == 0
    info = clock.receiver.device_info["clock-lobby"]
    assert info["DeviceName"] == "SpeedFace-V5L" and info["MAC"] == "00:17:61:12:ab:cd"
    assert info["UserCount"] == "57"
    # and the hall hears of it as the clock's device status
    [status] = [c for c in clock.hall.calls if c["action"] == "device_status"]
    assert status["device"] == "clock-lobby" and status["online"] is True
    assert "DeviceName=SpeedFace-V5L" in status["detail"] and "MAC=00:17:61:12:ab:cd" in (
        status["detail"])


async def test_a_result_written_one_field_a_line_is_matched_too(clock: Clock) -> None:
    command_id = clock.receiver.queue_command("clock-lobby", "GetFile options.cfg")
    await clock.call("GET", "/iclock/getrequest")
    body = f"ID={command_id}\nSN={SN}\nFILENAME=options.cfg\nCMD=GetFile\nReturn=312\nContent=\n"
    assert await clock.call("POST", "/iclock/devicecmd", body) == (200, "OK")
    assert clock.receiver.results[command_id].return_code == 312
    assert clock.receiver.stats["unexpected_result"] == 0


# -- form bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"table": "ATTLOG", "Stamp": "187422"},
        {"SN": SN, "table": "ATTLOG", "Stamp": "187422"},
    ],
    ids=["table-first", "sn-first"],
)
async def test_a_form_body_with_data_after_other_fields_is_read_as_punches(
    clock: Clock, fields: dict[str, str]
) -> None:
    body = urlencode({**fields, "data": CHECK_IN + "\n" + CHECK_OUT + "\n"})
    # the table and stamp are only in the body: the query string has the SN alone
    assert await clock.call("POST", "/iclock/cdata", body) == (200, "OK: 2")
    assert [p[:2] for p in clock.hall.punches()] == [("staff_check_in", "S005"),
                                                     ("staff_check_out", "S031")]
    assert clock.receiver.quarantine.count() == 0
    _, options = await clock.call("GET", "/iclock/cdata", options="all")
    assert "ATTLOGStamp=187422" in options.splitlines()


# -- quarantine -----------------------------------------------------------------------------------


async def test_an_unreadable_line_is_kept_raw_in_the_journal_database_before_the_ok(
    tmp_path: Path,
) -> None:
    garbled = "0105 2026-11-25 08:59:01 0 15"  # spaces for tabs: a firmware bug seen in the field
    async for clock in _clock(tmp_path):
        assert await clock.call("POST", "/iclock/cdata", garbled + "\n" + CHECK_OUT + "\n",
                                table="ATTLOG", Stamp="9") == (200, "OK: 2")
        assert clock.receiver.stats["quarantined"] == 1
    # durable, in the journal's file, readable with nothing but sqlite3
    with sqlite3.connect(tmp_path / "journal.db") as db:
        rows = db.execute("SELECT device, source, line FROM attendance_quarantine").fetchall()
    assert rows == [("clock-lobby", "zkteco_adms", garbled)]


async def test_when_the_quarantine_cannot_write_the_clock_keeps_its_lines(clock: Clock) -> None:
    clock.receiver.quarantine.store.close()  # e.g. the disk is gone
    status, _ = await clock.call("POST", "/iclock/cdata", "nonsense\n" + CHECK_IN + "\n",
                                 table="ATTLOG", Stamp="9")
    assert status == 503
    assert clock.hall.calls == []  # nothing acknowledged, nothing half done


# -- who may push -------------------------------------------------------------------------------


async def test_a_clock_outside_its_allow_list_is_refused(tmp_path: Path) -> None:
    async for clock in _clock(tmp_path, {"allow_from": ["10.0.5.0/24"]}):
        assert (await clock.call("GET", "/iclock/cdata", options="all"))[0] == 403
        status, _ = await clock.call("POST", "/iclock/cdata", CHECK_IN + "\n",
                                     table="ATTLOG", Stamp="9")
        assert status == 403
        assert clock.hall.calls == []
        assert clock.receiver.stats["address_refused"] == 2
    async for clock in _clock(tmp_path, {"allow_from": ["127.0.0.1"]}):
        assert await clock.call("POST", "/iclock/cdata", CHECK_IN + "\n",
                                table="ATTLOG", Stamp="9") == (200, "OK: 1")


async def test_with_a_comm_key_the_sn_alone_no_longer_pushes(tmp_path: Path) -> None:
    async for clock in _clock(tmp_path, {"comm_key_sha256": key_digest(KEY)}):
        push = {"table": "ATTLOG", "Stamp": "9"}
        assert (await clock.call("POST", "/iclock/cdata", CHECK_IN + "\n", **push))[0] == 403
        assert (await clock.call("GET", "/iclock/cdata", options="all",
                                 pushcommkey="wrong"))[0] == 403
        assert clock.hall.calls == []
        assert clock.receiver.stats["comm_key_missing"] == 1
        assert clock.receiver.stats["bad_comm_key"] == 1
        # the clock's handshake presents the key; its pushes from that address are taken
        status, _ = await clock.call("GET", "/iclock/cdata", options="all", pushver="2.4.1",
                                     pushcommkey=KEY)
        assert status == 200
        assert await clock.call("POST", "/iclock/cdata", CHECK_IN + "\n", **push) == (
            200, "OK: 1")
        # firmware that sends the key on every request (any spelling) is taken as well
        assert await clock.call("POST", "/iclock/cdata", CHECK_OUT + "\n", PushCommKey=KEY,
                                **push) == (200, "OK: 1")
        assert len(clock.hall.applied) == 2


def test_the_comm_key_is_configured_as_a_digest_never_in_clear() -> None:
    with pytest.raises(ValueError):
        AdmsConfig.model_validate(
            {"clocks": [{"sn": SN, "device": "clock-lobby", "comm_key_sha256": KEY}]})


async def test_a_keyed_clock_is_still_known_by_its_address_after_a_restart(tmp_path: Path) -> None:
    keyed = {"comm_key_sha256": key_digest(KEY)}
    async for clock in _clock(tmp_path, keyed):
        assert (await clock.call("GET", "/iclock/cdata", options="all", pushcommkey=KEY))[0] == 200
    async for clock in _clock(tmp_path, keyed):  # hallctl restarted; the clock just pushes on
        assert await clock.call("POST", "/iclock/cdata", CHECK_IN + "\n", table="ATTLOG",
                                Stamp="9") == (200, "OK: 1")
