"""Wait estimates by the hall's own rules (hall/eta.py), checked by hand.

The hall below has no history, so every service takes its configured ``avg_service_min``
(10 minutes) until the first finish; the numbers in the comments are worked out by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hallctl.config import parse_config
from hallctl.hall.core import Hall
from hallctl.hall.estimate import estimated_wait_min
from tests.hall.conftest import TZ, Driver

HALL = """
version: 1
hall: {id: eta-hall, name: 测试大厅, timezone: Asia/Shanghai}
services:
  - {code: X, name: 业务甲, prefix: A, avg_service_min: 10, daily_cap: 999}
  - {code: Y, name: 业务乙, prefix: B, avg_service_min: 10}
windows:
  - {number: 1, services: [X]}
  - {number: 2, services: [Y, {service: X, level: 2}]}
staff:
  - {id: S1, name: 王芳, staff_no: "0101"}
  - {id: S2, name: 李强, staff_no: "0102"}
"""


@pytest.fixture
def hall() -> Driver:
    return Driver(parse_config(HALL), datetime(2026, 11, 25, 9, 30, tzinfo=TZ))


def old_estimate(d: Driver, service: str, ahead: int) -> float:
    return estimated_wait_min(d.hall, service, ahead)


def test_the_citizen_being_served_is_counted(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="X")
    hall("call_next", window=1)
    hall.later(minutes=2)
    ticket = hall("take_ticket", service="X")
    # nobody waits, but window 1 is busy for about 10 - 2 = 8 more minutes
    assert ticket["ahead"] == 0
    assert ticket["est_wait_min"] == 8.0
    assert old_estimate(hall, "X", 0) == 0.0  # the old estimate said 0


def test_a_window_that_serves_a_service_only_at_a_lower_level_is_not_a_full_window(
    hall: Driver,
) -> None:
    hall("open_window", window=1)
    hall("open_window", window=2)
    for _ in range(6):
        hall("take_ticket", service="Y")
    hall("take_ticket", service="X")
    hall("take_ticket", service="X")
    ticket = hall("take_ticket", service="X")
    # window 2 always has a Y to call first, so only window 1 calls X: A001 at 0, A002 at 10,
    # the new A003 at 20 minutes
    assert ticket["est_wait_min"] == 20.0
    assert old_estimate(hall, "X", 2) == 10.0  # 2 ahead × 10 ÷ 2 windows


def test_a_green_ticket_waits_for_the_first_window_to_free_up(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="X")
    hall("call_next", window=1)
    hall.later(minutes=3)
    green = hall("take_ticket", service="X", channel="green")
    assert green["ahead"] == 0 and green["est_wait_min"] == 7.0  # every window busy: 10 - 3
    assert old_estimate(hall, "X", 0) == 0.0


def test_service_times_come_from_the_hall_clock_history(hall: Driver) -> None:
    hall("open_window", window=1)
    for _ in range(12):
        hall("take_ticket", service="X")
    for _ in range(11):
        hall("call_next", window=1)
        hall.later(minutes=4)  # every citizen takes 4 hall minutes, not the configured 10
    hall("call_next", window=1)  # A011 finished, A012 called just now
    ticket = hall("take_ticket", service="X")
    # the service: prior 10 min worth 2 samples, 11 samples of 4 min: (2×10 + 11×4) / 13 = 4.92;
    # window 1's own 11 samples are all 4 minutes: a difference far beyond their noise, so 4.0
    assert hall.hall.eta.service_time("X").mean_s / 60 == pytest.approx(4.92, abs=0.01)
    assert ticket["est_wait_min"] == 4.0


def test_a_slower_person_at_the_window_is_taken_into_account(hall: Driver) -> None:
    hall("open_window", window=1, staff="S1")
    hall("open_window", window=2, staff="S2")
    for _ in range(40):
        hall("take_ticket", service="X")
    for _ in range(10):  # S1 takes 12 minutes per citizen, S2 (at level 2, no Y) 4
        hall("call_next", window=1)
        hall("call_next", window=2)
        hall.later(minutes=4)
        hall("call_next", window=2)
        hall.later(minutes=4)
        hall("call_next", window=2)
        hall.later(minutes=4)
    est = hall.hall.eta
    assert est.service_time("X", "S1").mean_s > 1.5 * est.service_time("X", "S2").mean_s


def test_paused_and_closed_windows_serve_nobody(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("open_window", window=2)
    hall("take_ticket", service="X")
    hall("take_ticket", service="X")
    hall("pause_window", window=1)
    ticket = hall("take_ticket", service="X")
    # only window 2 (X at level 2, no Y waiting) is serving: 0, 10, then the new one at 20
    assert ticket["est_wait_min"] == 20.0


def test_a_waiting_tickets_own_estimate_can_be_asked_for(hall: Driver) -> None:
    hall("open_window", window=1)
    for _ in range(3):
        hall("take_ticket", service="X")
    answer = hall("ticket_eta", ticket="A003")
    assert (answer["state"], answer["ahead"], answer["est_wait_min"]) == ("waiting", 2, 20.0)
    hall.later(minutes=5)
    hall("call_next", window=1)
    hall.later(minutes=5)
    # A001 has been at the window 5 of its 10 minutes: A002 in 5, A003 in 15
    assert hall("ticket_eta", ticket="A003")["est_wait_min"] == 15.0
    assert hall("ticket_eta", ticket="A001")["est_wait_min"] is None  # called: nothing to wait
    hall.fails("unknown_ticket", "ticket_eta", ticket="A999")


def test_estimates_are_deterministic_and_survive_a_replay(hall: Driver) -> None:
    timed: list[tuple[str, dict[str, Any], float]] = []

    def do(action: str, **fields: Any) -> None:
        before = len(hall.events)
        hall(action, **fields)
        timed.extend((t, d, hall.now.timestamp()) for t, d in hall.events[before:])

    do("open_window", window=1)
    do("open_window", window=2)
    for i in range(20):
        do("take_ticket", service="X" if i % 3 else "Y", channel="green" if i == 7 else "normal")
        if i % 4 == 0:
            do("call_next", window=2)
        elif i % 4 == 2:
            do("call_next", window=1)
        hall.later(minutes=1.5)
    at = hall.now.timestamp()
    live = hall.hall.eta
    assert live.forecast(at, targets=["A013"]) == live.forecast(at, targets=["A013"])
    replayed = Hall(parse_config(HALL))
    for type_, data, when in timed:
        replayed.apply(type_, data, when)
    assert replayed.eta.services_min(at) == live.services_min(at)
    assert replayed.eta.ticket_min("A013", at) == live.ticket_min("A013", at)


def test_a_long_line_is_extrapolated_at_the_simulated_rate() -> None:
    config = parse_config(HALL)
    d = Driver(config, datetime(2026, 11, 25, 9, 30, tzinfo=TZ))
    d("open_window", window=1)
    for _ in range(900):
        d("take_ticket", service="X")
    ticket = d("take_ticket", service="X")
    # one window, 10 minutes each: the 901st ticket is called after 900 × 10 minutes
    assert ticket["est_wait_min"] == pytest.approx(9000.0, rel=0.01)


def test_before_any_window_of_a_service_opens_the_estimate_is_the_wait_once_one_does(
    hall: Driver,
) -> None:
    hall("open_window", window=1)  # X's window is busy for hours; Y's (window 2) is closed
    for _ in range(20):
        hall("take_ticket", service="X")
    ticket = hall("take_ticket", service="Y")
    # nobody ahead, 10 minutes of service once window 2 opens: not the end of X's morning
    assert ticket["est_wait_min"] == 10.0
