"""The calling policy: the default chain and how a hall changes it."""

from __future__ import annotations

from hallctl.config import parse_config
from tests.hall.conftest import SMALL_HALL, Driver


def test_green_channel_is_called_first(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="BDC", channel="green")
    assert hall("call_next", window=1)["ticket"] == "A002"


def test_appointments_before_walk_ins_but_after_green(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("book_appointment", code="Y1", service="BDC")
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="BDC", channel="appointment", appointment_code="Y1")
    hall("take_ticket", service="BDC", channel="green")
    called = [hall("call_next", window=1)["ticket"] for _ in range(3)]
    assert called == ["A003", "A002", "A001"]


def test_service_level_serves_level_one_first(hall: Driver) -> None:
    hall("open_window", window=3)  # SB level 1, ZH level 2
    hall("take_ticket", service="ZH")
    hall("take_ticket", service="SB")
    assert hall("call_next", window=3)["ticket"] == "B001"
    assert hall("call_next", window=3)["ticket"] == "H001"


def test_weighted_ratio_two_to_one(hall: Driver) -> None:
    hall("open_window", window=2)  # BDC weight 2, SB weight 1, same level
    for _ in range(6):
        hall("take_ticket", service="SB")
        hall("take_ticket", service="BDC")
    prefixes = "".join(hall("call_next", window=2)["ticket"][0] for _ in range(6))
    assert prefixes.count("A") == 4 and prefixes.count("B") == 2
    assert prefixes in ("AABAAB", "ABAABA", "BAABAA", "ABAAB" + "A")


def test_a_window_policy_overrides_the_hall_policy() -> None:
    from datetime import datetime

    from tests.hall.conftest import TZ

    text = SMALL_HALL.replace(
        "{number: 3, services: [{service: SB, level: 1}, {service: ZH, level: 2}]}",
        "{number: 3, services: [{service: SB, level: 1}, {service: ZH, level: 2}],"
        " policy: {rules: [longest_wait, fifo]}}",
    )
    hall = Driver(parse_config(text), datetime(2026, 11, 25, 9, 30, tzinfo=TZ))
    hall("open_window", window=3)
    hall("take_ticket", service="ZH")
    hall.later(minutes=1)
    hall("take_ticket", service="SB")
    # without service_level the level-2 ticket that waited longer goes first
    assert hall("call_next", window=3)["ticket"] == "H001"


def test_transfer_to_back_keeps_the_original_wait_for_longest_wait_rules(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("open_window", window=3)
    hall("take_ticket", service="BDC")
    hall.later(minutes=5)
    hall("take_ticket", service="SB")
    hall("call_next", window=1)
    hall("transfer", window=1, service="SB", front=False)
    t = hall.hall.state.tickets["A001"]
    assert t.service == "SB" and t.waiting_since < hall.hall.state.tickets["B001"].waiting_since
