"""Records, staff directory, recent-window dedup and the sink that makes hall requests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hallctl.attendance.config import AttendanceConfig
from hallctl.attendance.records import AttendanceRecord, Direction, RecentKeys, record_key
from hallctl.attendance.sink import AttendanceSink, StaffDirectory, build_request
from hallctl.hall.commands import StaffCheckIn, StaffCheckOut
from tests.attendance_recorder import HallRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)


def punch(
    staff: str = "0105", minutes_ago: float = 30, direction: Direction = "in"
) -> AttendanceRecord:
    when = NOW - timedelta(minutes=minutes_ago)
    return AttendanceRecord(
        device="clock-lobby",
        source="zkteco_adms",
        staff_external_id=staff,
        time=when,
        direction=direction,
        record_key=record_key(staff, when),
    )


def sink_for(port: Any, **options: Any) -> AttendanceSink:
    return AttendanceSink(port, StaffDirectory({"0105": "S005"}), now=lambda: NOW, **options)


# -- records --------------------------------------------------------------------------------------


def test_a_record_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        AttendanceRecord(
            device="clock-lobby",
            source="zkteco_adms",
            staff_external_id="0105",
            time=datetime(2026, 11, 25, 9, 0),
            direction="in",
            record_key="k",
        )


# A clock's own time: years in which a zone's offset cannot push the instant out of range.
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.sampled_from([SHANGHAI, ZoneInfo("UTC")])))
def test_record_key_is_the_same_instant_in_any_zone(when: datetime) -> None:
    assert record_key("0105", when) == record_key("0105", when.astimezone(ZoneInfo("UTC")))


def test_record_key_differs_by_second_and_by_staff() -> None:
    assert record_key("0105", NOW) != record_key("0105", NOW + timedelta(seconds=1))
    assert record_key("0105", NOW) != record_key("0231", NOW)


def test_recent_keys_forget_after_the_window_and_beyond_the_size() -> None:
    now = [0.0]
    recent = RecentKeys(window=60, max_size=2, clock=lambda: now[0])
    recent.add("a")
    now[0] = 30
    recent.add("b")
    assert "a" in recent and "b" in recent
    now[0] = 61
    assert "a" not in recent and "b" in recent
    recent.add("c")
    recent.add("d")  # over the size: the oldest ("b") goes
    assert "b" not in recent and len(recent) == 2


# -- staff directory ------------------------------------------------------------------------------


def test_directory_finds_ids_with_or_without_leading_zeros() -> None:
    directory = StaffDirectory({"0105": "S005", "231": "S031"})
    assert directory.lookup("0105") == "S005"
    assert directory.lookup("105") == "S005"
    assert directory.lookup("00231") == "S031"
    assert directory.lookup("106") is None


def test_directory_refuses_a_guess_when_padding_is_ambiguous() -> None:
    directory = StaffDirectory({"01": "S001", "001": "S777"})
    assert directory.lookup("01") == "S001"  # exact matches still work
    assert directory.lookup("1") is None


# -- the sink -------------------------------------------------------------------------------------


def test_the_request_carries_ids_and_time_only() -> None:
    record = punch(direction="out")
    assert build_request(record, "S005") == {
        "action": "staff_check_out",
        "staff": "S005",
        "device": "clock-lobby",
        "time": "2026-11-25T09:00:00+08:00",
        "request_id": "att:clock-lobby:0105@20261125T010000Z",
    }


@pytest.mark.parametrize("direction", ["in", "out"])
def test_the_request_is_one_the_hall_core_accepts(direction: Direction) -> None:
    longest = AttendanceRecord(
        device="d" * 48,
        source="hikvision_isapi",
        staff_external_id="9" * 32,
        time=NOW,
        direction=direction,
        record_key=record_key("9" * 32, NOW),
    )
    request = build_request(longest, "S005")
    command = (StaffCheckIn if direction == "in" else StaffCheckOut).model_validate(request)
    assert command.time == NOW and command.request_id == longest.request_id


async def test_a_hall_rejection_is_final_and_not_sent_again() -> None:
    hall = HallRecorder()
    hall.reject = True
    sink = sink_for(hall)
    assert (await sink.deliver([punch()])).rejected == 1
    assert (await sink.deliver([punch()])).duplicate == 1
    assert len(hall.calls) == 1


async def test_punches_out_of_range_are_skipped() -> None:
    hall = HallRecorder()
    sink = sink_for(hall)
    report = await sink.deliver(
        [punch(minutes_ago=60 * 25), punch(minutes_ago=-10), punch(minutes_ago=-4)]
    )
    assert (report.out_of_range, report.recorded) == (2, 1)  # 4 min ahead is tolerated drift


async def test_an_unreachable_hall_stops_the_batch_and_asks_for_a_resend() -> None:
    hall = HallRecorder()
    hall.down = True
    sink = sink_for(hall)
    report = await sink.deliver([punch(minutes_ago=m) for m in (30, 20, 10)])
    assert report.retry and report.failed == 3
    hall.down = False
    report = await sink.deliver([punch(minutes_ago=m) for m in (30, 20, 10)])
    assert report.recorded == 3 and not report.retry


class _Stuck:
    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(60)
        return {"ok": True}


async def test_a_hall_that_does_not_answer_counts_as_unreachable() -> None:
    sink = sink_for(_Stuck(), execute_timeout_s=0.05)
    async with asyncio.timeout(2):
        report = await sink.deliver([punch()])
    assert report.failed == 1


async def test_unknown_staff_never_reaches_the_hall() -> None:
    hall = HallRecorder()
    sink = sink_for(hall)
    report = await sink.deliver([punch(staff="4242")])
    assert report.unknown_staff == 1 and hall.calls == []
    assert sink.stats["unknown_staff"] == 1


# -- config ---------------------------------------------------------------------------------------


def test_attendance_config_defaults_to_the_hall_in_shanghai() -> None:
    config = AttendanceConfig()
    assert config.zone == SHANGHAI
    assert config.adms.status_map == {0: "in", 1: "out"}
    assert config.isapi.sub_event_types == frozenset({1, 38, 75})
    assert not config.keep_pictures


@pytest.mark.parametrize(
    "bad",
    [
        {"timezone": "Mars/Olympus"},
        {"keep_pictures": True},
        {"adms": {"status_map": {0: "sideways"}}},
        {"isapi": {"terminals": [{"device": "a", "token": "short"}]}},
        {"mqtt": [{"profile": "../etc/passwd"}]},
        {"surprise": 1},
    ],
    ids=["zone", "pictures-without-dir", "direction", "short-token", "profile-name", "extra"],
)
def test_attendance_config_names_what_is_wrong(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AttendanceConfig.model_validate(bad)


def test_pictures_can_be_kept_in_a_named_folder(tmp_path: Path) -> None:
    config = AttendanceConfig(keep_pictures=True, picture_dir=tmp_path)
    assert config.picture_dir == tmp_path
