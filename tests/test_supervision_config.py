"""The `supervision:` section: typos and bad values are named with their place in the file."""

from __future__ import annotations

from tests.test_config import GOOD, problems


def test_norms_for_an_unknown_service_are_a_problem() -> None:
    text = GOOD + "supervision:\n  norms:\n    services:\n      NOPE: {line_limit: 5}\n"
    [(line, path, message)] = problems(text)
    assert (path, message) == ("supervision.norms.services.NOPE", "unknown service 'NOPE'")
    assert line is not None and line > GOOD.count("\n")


def test_a_bad_holiday_and_an_unknown_format_are_named() -> None:
    text = GOOD + (
        "supervision:\n  calendar: {holidays: ['2026-13-01']}\n  reports: {formats: [docx]}\n"
    )
    found = {path: message for _, path, message in problems(text)}
    assert "2026-13-01" in found["supervision.calendar.holidays"]
    assert "docx" in found["supervision.reports.formats"]
