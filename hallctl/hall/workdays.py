"""Working-day arithmetic with a holiday and 调休 calendar (pure)."""

from __future__ import annotations

from datetime import date, timedelta

from hallctl.supervision.config import CalendarConfig


def is_working_day(day: date, cal: CalendarConfig) -> bool:
    if day in cal.workdays:
        return True
    if day in cal.holidays:
        return False
    return day.weekday() < 5


def add_working_days(start: date, n: int, cal: CalendarConfig) -> date:
    """The n-th working day after ``start`` (``start`` itself does not count)."""
    day = start
    left = n
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, cal):
            left -= 1
    return day


def working_days_between(first: date, last: date, cal: CalendarConfig) -> int:
    """Working days in (first, last]: how many working days ``last`` is after ``first``."""
    if last <= first:
        return 0
    return sum(
        is_working_day(first + timedelta(days=i), cal) for i in range(1, (last - first).days + 1)
    )
