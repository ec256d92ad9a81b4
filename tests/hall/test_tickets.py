"""Issuing tickets: numbering, caps, hours, classes, the daily reset, personal data."""

from __future__ import annotations

from datetime import datetime

from tests.hall.conftest import TZ, Driver


def test_numbers_are_prefix_and_zero_padded_counter(hall: Driver) -> None:
    assert hall("take_ticket", service="BDC")["ticket"] == "A001"
    assert hall("take_ticket", service="BDC")["ticket"] == "A002"
    assert hall("take_ticket", service="SB")["ticket"] == "B001"


def test_first_command_of_a_day_starts_the_day(hall: Driver) -> None:
    hall("take_ticket", service="BDC")
    assert hall.types() == ["day.started", "ticket.issued"]
    assert hall.events[0][1]["day"] == "2026-11-25"


def test_numbers_restart_at_local_midnight_not_utc(hall: Driver) -> None:
    hall.now = datetime(2026, 11, 25, 7, 0, tzinfo=TZ)  # 23:00 UTC the day before
    hall.hall.config.services[0]  # BDC has no hours of its own
    assert hall("take_ticket", service="BDC")["ticket"] == "A001"
    hall.now = datetime(2026, 11, 25, 23, 59, tzinfo=TZ)
    assert hall("take_ticket", service="BDC")["ticket"] == "A002"
    hall.now = datetime(2026, 11, 26, 0, 1, tzinfo=TZ)
    assert hall("take_ticket", service="BDC")["ticket"] == "A001"
    assert [d["day"] for t, d in hall.events if t == "day.started"] == ["2026-11-25", "2026-11-26"]


def test_daily_cap_refuses_and_changes_nothing(hall: Driver) -> None:
    for _ in range(50):
        hall("take_ticket", service="BDC")
    err = hall.fails("daily_cap_reached", "take_ticket", service="BDC")
    assert err.message_zh == "该业务今日号源已满"
    assert hall.hall.state.issued["BDC"] == 50


def test_issuing_hours_are_enforced_in_hall_time(hall: Driver) -> None:
    hall.now = datetime(2026, 11, 25, 12, 30, tzinfo=TZ)
    hall.fails("outside_hours", "take_ticket", service="GJJ")
    hall.now = datetime(2026, 11, 25, 11, 59, tzinfo=TZ)
    assert hall("take_ticket", service="GJJ")["ticket"] == "C001"


def test_green_channel_only_where_the_service_allows_it(hall: Driver) -> None:
    hall.fails("green_not_allowed", "take_ticket", service="ZH", channel="green")
    assert hall("take_ticket", service="BDC", channel="green")["channel"] == "green"


def test_people_ahead_counts_only_those_called_before(hall: Driver) -> None:
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="BDC")
    assert hall("take_ticket", service="BDC", channel="green")["ahead"] == 0
    assert hall("take_ticket", service="BDC")["ahead"] == 3


def test_appointment_check_in_by_code_once(hall: Driver) -> None:
    hall("book_appointment", code="YY123", service="BDC", day="2026-11-25", slot="09:30-10:00")
    hall.fails(
        "unknown_appointment",
        "take_ticket",
        service="BDC",
        channel="appointment",
        appointment_code="NOPE",
    )
    hall.fails(
        "unknown_appointment",
        "take_ticket",
        service="SB",
        channel="appointment",
        appointment_code="YY123",
    )
    t = hall("take_ticket", service="BDC", channel="appointment", appointment_code="YY123")
    assert t["channel"] == "appointment"
    hall.fails(
        "unknown_appointment",
        "take_ticket",
        service="BDC",
        channel="appointment",
        appointment_code="YY123",
    )


def test_one_ticket_per_person_by_hashed_id(hall: Driver) -> None:
    hall("take_ticket", service="GJJ", id_hash="h1", id_masked="110***********1234")
    hall.fails("already_has_ticket", "take_ticket", service="GJJ", id_hash="h1")
    hall("take_ticket", service="GJJ", id_hash="h2")
    hall("take_ticket", service="BDC", id_hash="h1")  # the rule is per service


def test_raw_id_values_never_reach_the_core(hall: Driver) -> None:
    hall.fails("internal", "take_ticket", service="GJJ", id_value="110101199003071234")


def test_unknown_service_is_an_error(hall: Driver) -> None:
    hall.fails("unknown_service", "take_ticket", service="NOPE")
