"""Working days across the 2026 Spring Festival: 2/15–2/23 off, Saturdays 2/14 and 2/28 worked."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from hallctl.hall.workdays import add_working_days, is_working_day, working_days_between
from hallctl.supervision.config import CalendarConfig

SPRING_2026 = CalendarConfig.model_validate(
    {"holidays": ["2026-02-15..2026-02-23"], "workdays": ["2026-02-14", "2026-02-28"]}
)


def test_adjusted_saturdays_are_working_days_and_the_festival_is_not() -> None:
    assert is_working_day(date(2026, 2, 14), SPRING_2026)  # Saturday, 调休
    assert not is_working_day(date(2026, 2, 16), SPRING_2026)  # Monday, holiday
    assert not is_working_day(date(2026, 2, 23), SPRING_2026)  # last day off, a Monday
    assert is_working_day(date(2026, 2, 24), SPRING_2026)
    assert not is_working_day(date(2026, 3, 1), SPRING_2026)  # ordinary Sunday


def test_fifteen_working_days_across_the_festival() -> None:
    # from Thu 2/12: 2/13, 2/14(调休), [2/15–2/23 off], 2/24–2/27, 2/28(调休), 3/2–3/6, 3/9–3/11
    assert add_working_days(date(2026, 2, 12), 15, SPRING_2026) == date(2026, 3, 11)
    # without the calendar it would be six days earlier
    assert add_working_days(date(2026, 2, 12), 15, CalendarConfig()) == date(2026, 3, 5)


def test_working_days_between_counts_the_same_calendar() -> None:
    assert working_days_between(date(2026, 2, 12), date(2026, 3, 11), SPRING_2026) == 15
    assert working_days_between(date(2026, 2, 14), date(2026, 2, 23), SPRING_2026) == 0
    assert working_days_between(date(2026, 3, 11), date(2026, 3, 11), SPRING_2026) == 0


def test_a_day_opened_on_a_holiday_starts_counting_after_it() -> None:
    assert add_working_days(date(2026, 2, 17), 1, SPRING_2026) == date(2026, 2, 24)


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-02-20..2026-02-10", "next monday"])
def test_bad_calendar_entries_are_named(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        CalendarConfig.model_validate({"holidays": [bad]})
    assert bad in str(info.value) or "day is out of range" in str(info.value)
