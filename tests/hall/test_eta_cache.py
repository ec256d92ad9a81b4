"""The kept forecast (hall/eta_cache.py): one forward run serves every command until the hall
clock moves on ``REFRESH_S`` or something happens that the run could not foresee.

The hall is tests/hall/test_eta.py's: window 1 serves X, window 2 serves Y and X at level 2,
10 minutes a citizen (no history). Runs are counted by the estimator (``Estimator.runs``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hallctl.config import parse_config
from hallctl.hall.core import Hall
from hallctl.hall.eta_cache import REFRESH_S
from hallctl.hall.views import retained_state
from tests.hall.conftest import TZ, Driver
from tests.hall.test_eta import HALL

START = datetime(2026, 11, 25, 9, 30, tzinfo=TZ)


def runs(d: Driver) -> int:
    return d.hall.eta.runs


def one_window_and_five_waiting() -> Driver:
    d = Driver(parse_config(HALL), START)
    d("open_window", window=1)
    for _ in range(5):
        d("take_ticket", service="X")
    d.later(minutes=1)  # the forecast made for the fifth is stale now
    return d


def test_a_burst_of_tickets_costs_one_forward_run_and_each_says_a_later_time() -> None:
    d = one_window_and_five_waiting()
    before = runs(d)
    burst = [d("take_ticket", service="X")["est_wait_min"] for _ in range(20)]
    assert runs(d) == before + 1
    # one window, 10 minutes a citizen, five ahead of the first of the burst: 50, 60, 70 …
    assert burst == [50.0 + 10 * k for k in range(20)]
    # and the next is what a run of its own says
    at = d.now.timestamp()
    own = d.hall.eta.forecast(at, ghosts=[("X", "normal")], targets=["~X/normal"])
    assert own.wait_min("~X/normal") == d.hall.eta.services_min(at)["X"] == 250.0


def test_a_ticket_of_the_burst_keeps_the_time_it_was_given() -> None:
    d = one_window_and_five_waiting()
    printed = {
        t["ticket"]: t["est_wait_min"] for t in (d("take_ticket", service="X") for _ in range(3))
    }
    before = runs(d)
    asked = {number: d("ticket_eta", ticket=number)["est_wait_min"] for number in printed}
    assert asked == printed and runs(d) == before


def test_calls_and_finishes_as_foreseen_keep_the_forecast() -> None:
    d = one_window_and_five_waiting()
    d("take_ticket", service="X")
    before = runs(d)
    d("call_next", window=1)
    d("start_service", window=1)
    d.later(seconds=REFRESH_S / 2)
    d("finish", window=1)
    d("call_next", window=1)
    d("take_ticket", service="X")
    assert runs(d) == before


def test_the_forecast_is_made_again_once_the_hall_clock_has_moved_on() -> None:
    d = one_window_and_five_waiting()
    d("take_ticket", service="X")
    before = runs(d)
    d.later(seconds=REFRESH_S - 1)
    d("take_ticket", service="X")
    assert runs(d) == before
    d.later(seconds=1)
    d("take_ticket", service="X")
    assert runs(d) == before + 1


UNFORESEEN: list[tuple[list[dict[str, Any]], dict[str, Any]]] = [
    ([{"action": "close_window", "window": 2}], {"action": "open_window", "window": 2}),
    ([], {"action": "close_window", "window": 2}),
    ([], {"action": "pause_window", "window": 2}),
    ([{"action": "pause_window", "window": 2}], {"action": "resume_window", "window": 2}),
    ([], {"action": "assign_staff", "window": 1, "staff": "S1"}),
    ([], {"action": "transfer", "window": 1, "service": "Y"}),
    ([], {"action": "suspend", "window": 1}),
    ([], {"action": "no_show", "window": 1}),
    ([], {"action": "take_ticket", "service": "X", "channel": "green"}),
    (
        [{"action": "book_appointment", "code": "YY-1", "service": "X"}],
        {
            "action": "take_ticket",
            "service": "X",
            "channel": "appointment",
            "appointment_code": "YY-1",
        },
    ),
    ([], {"action": "set_service_issuing", "service": "Y", "issuing": False}),
    ([], {"action": "set_service_cap", "service": "X", "cap": 500}),
]


@pytest.mark.parametrize(
    ("setup", "event"),
    UNFORESEEN,
    ids=[e["action"] + "/" + str(e.get("channel", "")) for _, e in UNFORESEEN],
)
def test_what_the_forecast_could_not_foresee_makes_it_again(
    setup: list[dict[str, Any]], event: dict[str, Any]
) -> None:
    d = Driver(parse_config(HALL), START)
    d("open_window", window=1)
    d("open_window", window=2)
    for _ in range(6):
        d("take_ticket", service="X")
    d("call_next", window=1)
    for command in setup:
        d(**command)
    d.later(minutes=1)
    d("take_ticket", service="X")  # a fresh forecast, kept
    d("take_ticket", service="X")
    kept = runs(d)
    d(**event)
    before = runs(d)
    d("take_ticket", service="X")
    assert runs(d) == before + 1, event
    assert kept == runs(d) - 1 - (event.get("channel", "normal") != "normal")


def test_a_new_day_makes_the_forecast_again() -> None:
    d = Driver(parse_config(HALL), datetime(2026, 11, 25, 23, 59, 55, tzinfo=TZ))
    d("open_window", window=1)
    for _ in range(3):
        d("take_ticket", service="X")
    before = runs(d)
    d.later(seconds=6)  # within REFRESH_S, but a new day: its lines start empty
    ticket = d("take_ticket", service="X")
    assert runs(d) == before + 1
    assert ticket["ticket"] == "A001"


def test_reading_the_retained_state_never_changes_what_a_command_says() -> None:
    """The views keep a forecast of their own when the commands' is stale, so how often the
    state is read (by pages, MQTT) cannot change a journaled number."""

    def day(read: bool) -> list[Any]:
        d = Driver(parse_config(HALL), START)
        d("open_window", window=1)
        d("open_window", window=2)
        for i in range(40):
            d("take_ticket", service="X" if i % 3 else "Y")
            if i % 2 == 0 and d.hall.state.lines.get("X"):
                d("call_next", window=2 if i % 4 else 1)
            if read:
                retained_state(d.hall)
            d.later(seconds=3 + i % 7)
        return [data.get("est_wait_min") for _, data in d.events]

    assert day(read=True) == day(read=False)


def test_a_restarted_hall_starts_with_a_fresh_run() -> None:
    d = Driver(parse_config(HALL), START)
    timed: list[tuple[str, dict[str, Any], float]] = []

    def do(action: str, **fields: Any) -> None:
        before = len(d.events)
        d(action, **fields)
        timed.extend((t, data, d.now.timestamp()) for t, data in d.events[before:])

    do("open_window", window=1)
    for _ in range(5):
        do("take_ticket", service="X")
    d.later(minutes=1)
    for _ in range(3):
        do("take_ticket", service="X")
    at = d.now.timestamp()
    restarted = Hall(parse_config(HALL))
    for type_, data, when in timed:
        restarted.apply(type_, data, when)
    assert restarted.eta.runs == 0
    fresh = restarted.eta.ticket_min("A008", at)
    assert restarted.eta.runs == 1
    # a run made now places A008 where the kept forecast did: 7 ahead, 10 minutes each
    assert fresh == d.hall.eta.ticket_min("A008", at) == 70.0


def test_a_ticket_beyond_the_run_is_placed_as_the_run_extrapolates_the_line() -> None:
    d = Driver(parse_config(HALL), START)
    d("open_window", window=1)
    for _ in range(300):
        d("take_ticket", service="X")
    d.later(minutes=1)
    at = d.now.timestamp()
    est = d.hall.eta
    kept = est.ticket_min("A200", at)
    own = est.forecast(at, targets=["A200"]).wait_min("A200")
    # 199 ahead of it at one window, 10 minutes each (the run's rate, 99 gaps in 100 calls)
    assert kept == own == pytest.approx(199 * 10.0, rel=0.01)


TWO_WINDOWS = """
version: 1
hall: {id: eta-two, name: 测试大厅, timezone: Asia/Shanghai}
services:
  - {code: X, name: 业务甲, prefix: A, avg_service_min: 10}
windows:
  - {number: 1, services: [X]}
  - {number: 2, services: [X]}
"""


def test_a_burst_into_an_empty_line_fills_the_idle_windows_first() -> None:
    d = Driver(parse_config(TWO_WINDOWS), START)
    d("open_window", window=1)
    d("open_window", window=2)
    before = runs(d)
    burst = [d("take_ticket", service="X")["est_wait_min"] for _ in range(5)]
    # the run saw nobody waiting, so no rate: the two idle windows take the first two at once,
    # then each is busy for 10 minutes a citizen
    assert burst == [0.0, 0.0, 10.0, 10.0, 20.0]
    assert runs(d) == before + 1
