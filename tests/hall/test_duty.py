"""Staff on duty: 挂牌上岗, AB岗 cover, unattended windows, late arrival, leaving with a queue."""

from __future__ import annotations

from datetime import datetime

import pytest

from hallctl.config import parse_config
from tests.hall.conftest import TZ, Driver

DUTY_HALL = """
version: 1
hall: {id: duty-hall, name: 考勤测试, hours: ["09:00-12:00", "13:30-17:30"]}
services:
  - {code: BDC, name: 不动产登记, prefix: A}
  - {code: SB, name: 社保, prefix: B}
windows:
  - {number: 1, services: [BDC], default_staff: A1}
  - {number: 2, services: [SB], default_staff: A2}
staff:
  - {id: A1, name: 王芳, staff_no: "0101", role: A, windows: [1]}
  - {id: A2, name: 李强, staff_no: "0102", role: A, windows: [2]}
  - {id: B1, name: 胡晓, staff_no: "0201", role: B, windows: [1, 2]}
duty: {enabled: true, late_grace_min: 10, unattended_grace_min: 5, cover_after_min: 15}
"""


@pytest.fixture
def hall() -> Driver:
    return Driver(parse_config(DUTY_HALL), datetime(2026, 11, 25, 8, 50, tzinfo=TZ))


def alarms(hall: Driver) -> dict[str, str]:
    return {k: a["kind"] for k, a in hall.hall.state.alarms.items()}


def test_check_in_puts_the_person_on_their_window(hall: Driver) -> None:
    hall("open_window", window=2, staff=None)
    hall("assign_staff", window=2, staff=None)
    hall("staff_check_in", staff="A2", device="face-1")
    assert hall.hall.state.window(2).staff == "A2"
    assert hall.events[-1][0] == "window.staff_changed"


def test_open_window_with_nobody_checked_in_raises_then_clears(hall: Driver) -> None:
    hall.now = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
    hall("open_window", window=1)
    hall.later(minutes=4)
    hall("tick")
    assert "unattended:1" not in alarms(hall)
    hall.later(minutes=2)
    hall("tick")
    assert alarms(hall)["unattended:1"] == "unattended_window"
    hall("staff_check_in", staff="A1")
    assert "unattended:1" not in alarms(hall)


def test_late_arrival_after_the_grace(hall: Driver) -> None:
    hall("staff_check_in", staff="A1")
    hall.now = datetime(2026, 11, 25, 9, 9, tzinfo=TZ)
    hall("tick")
    assert "late:A2" not in alarms(hall)
    hall.now = datetime(2026, 11, 25, 9, 11, tzinfo=TZ)
    hall("tick")
    assert alarms(hall).get("late:A2") == "late_arrival" and "late:A1" not in alarms(hall)


def test_b_is_asked_to_cover_an_absent_a_and_then_shown(hall: Driver) -> None:
    hall("staff_check_in", staff="A2")
    hall("staff_check_in", staff="B1")
    hall.now = datetime(2026, 11, 25, 9, 16, tzinfo=TZ)
    hall("tick")
    cover = hall.hall.state.alarms["cover:1"]
    assert (cover["absent"], cover["cover"]) == ("A1", "B1")
    assert "请胡晓到1号窗口顶岗" in cover["message"]
    hall("open_window", window=1, staff="B1")
    assert hall.hall.state.window(1).staff == "B1"  # the window shows who serves
    hall("staff_check_in", staff="A1")
    assert "cover:1" not in alarms(hall)


def test_no_duty_alarms_outside_working_hours(hall: Driver) -> None:
    hall.now = datetime(2026, 11, 25, 12, 30, tzinfo=TZ)
    hall("open_window", window=1)
    hall.later(minutes=30)
    hall("tick")
    assert not alarms(hall)


def test_checking_out_while_citizens_wait_only_for_you(hall: Driver) -> None:
    hall.now = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
    hall("staff_check_in", staff="A1")
    hall("staff_check_in", staff="A2")
    hall("open_window", window=1)
    hall("open_window", window=2)
    hall("take_ticket", service="SB")
    hall("staff_check_out", staff="A1")
    assert "left_with_queue:A1" not in alarms(hall)  # nobody waits for BDC
    hall("staff_check_out", staff="A2")
    alarm = hall.hall.state.alarms["left_with_queue:A2"]
    assert alarm["services"] == ["SB"]


def test_assign_staff_rejects_unknown_people(hall: Driver) -> None:
    hall.fails("unknown_staff", "assign_staff", window=1, staff="ZZ")
