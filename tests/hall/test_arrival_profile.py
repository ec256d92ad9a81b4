"""Citizens still to come: the weekday's arrival profile (hall/arrival_profile.py) in estimates."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

import pytest

from hallctl.config import parse_config
from hallctl.hall.arrival_profile import DAY_SLOTS, WEEK_SLOTS, ArrivalProfile
from hallctl.hall.core import Hall
from hallctl.hall.eta import LEVEL_PRIOR
from tests.hall.conftest import TZ, Driver
from tests.hall.test_eta import HALL

LAST_WEEK = datetime(2026, 11, 18, 9, 0, tzinfo=TZ)  # a Wednesday
TODAY = LAST_WEEK + timedelta(weeks=1)


def green_burst(d: Driver, every_min: float, n: int) -> None:
    """``n`` green X tickets, called and finished at once (no service-time sample)."""
    if d.hall.state.window(1).status == "closed":
        d("open_window", window=1)
    for _ in range(n):
        d("take_ticket", service="X", channel="green")
        d("call_next", window=1)
        d("finish", window=1)
        d.later(minutes=every_min)


@pytest.fixture
def hall() -> Driver:
    d = Driver(parse_config(HALL), LAST_WEEK)
    green_burst(d, 15, 2)  # last Wednesday: green citizens at 9:00 and 9:15, then nobody
    d("close_window", window=1)
    d.now = TODAY
    return d


def busy_window_and_one_ahead(d: Driver) -> dict[str, object]:
    d("take_ticket", service="X")
    d("call_next", window=1)  # window 1 busy until 9:40
    d("take_ticket", service="X")  # called at 9:40, busy until 9:50
    return d("take_ticket", service="X")


def test_after_a_burst_that_the_weekday_knows_ends_nobody_more_is_expected(
    hall: Driver,
) -> None:
    green_burst(hall, 15, 2)  # the same today: 9:00, 9:15; now 9:30
    ticket = busy_window_and_one_ahead(hall)
    # the profile knows nobody green comes after 9:30: called at 9:50
    assert ticket["est_wait_min"] == 20.0
    assert ("X", "green") not in hall.hall.eta.expected_arrivals(hall.now.timestamp())


def test_without_history_the_last_half_hours_rate_goes_on() -> None:
    d = Driver(parse_config(HALL), TODAY)
    green_burst(d, 15, 2)
    ticket = busy_window_and_one_ahead(d)
    # green citizens expected every 15 minutes go first: 9:45 (called 9:50) and 10:00 (called
    # 10:00), so this ticket is called at 10:10
    assert ticket["est_wait_min"] == 40.0
    [(_until, rate)] = d.hall.eta.expected_arrivals(d.now.timestamp())[("X", "green")]
    assert rate == pytest.approx(2 / 1800)


def test_a_busier_day_than_usual_scales_the_profile() -> None:
    d = Driver(parse_config(HALL), LAST_WEEK)
    green_burst(d, 5, 12)  # last week: 6 in each of 9:00-9:30 and 9:30-10:00
    d("close_window", window=1)
    d.now = TODAY
    green_burst(d, 2.5, 12)  # today: 12 by 9:30, twice last week's
    at = d.now.timestamp()
    (until, rate), *_ = d.hall.eta.expected_arrivals(at)[("X", "green")]
    level = (12 + LEVEL_PRIOR) / (6 + LEVEL_PRIOR)  # today's level, shrunk towards usual
    assert rate == pytest.approx(6 * level / 1800)
    assert until == at + 1800


def test_the_profile_is_the_same_weekday_else_the_last_days_and_forgets_old_weeks() -> None:
    p = ArrivalProfile()
    t0 = LAST_WEEK.timestamp()
    p.note("2026-11-18", t0, "X", "normal")  # Wednesday
    p.note("2026-11-23", t0 + 5 * 86400, "X", "normal")  # Monday
    assert p.shifts("2026-11-25") == [WEEK_SLOTS]  # Wednesday: last Wednesday only
    assert p.shifts("2026-11-26") == [3 * DAY_SLOTS, 8 * DAY_SLOTS]  # Thursday: latest days
    assert p.shifts("2026-11-18") == []  # nothing before the first day
    p.note("2027-01-20", t0 + 63 * 86400, "X", "normal")  # nine weeks on: the old ones go
    assert set(p.days) == {"2027-01-20"}
    assert sum(p.counts[("X", "normal")].values()) == 1


def test_the_profile_survives_a_snapshot(hall: Driver) -> None:
    green_burst(hall, 15, 2)
    at = hall.now.timestamp() + 60
    copy = Hall(hall.hall.config, pickle.loads(pickle.dumps(hall.hall.state)))
    assert copy.state.arrival_profile == hall.hall.state.arrival_profile
    assert copy.eta.expected_arrivals(at) == hall.hall.eta.expected_arrivals(at)
    assert copy.eta.services_min(at) == hall.hall.eta.services_min(at)
