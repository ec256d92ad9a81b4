"""A request seen before shares its validated command; only an identical one does."""

from __future__ import annotations

import pytest

from hallctl.hall.commands import parse_command
from hallctl.hall.errors import HallError


def test_a_repeated_request_gets_the_same_frozen_command() -> None:
    first = parse_command({"action": "call_next", "window": 5})
    assert parse_command({"action": "call_next", "window": 5}) is first
    assert parse_command({"window": 5, "action": "call_next"}) == first
    assert parse_command({"action": "call_next", "window": 6}).window == 6
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        first.window = 6  # type: ignore[misc]


@pytest.mark.parametrize("window", [True, 1.0, "1"])
def test_a_value_equal_to_a_kept_one_but_of_another_type_is_still_refused(window: object) -> None:
    parse_command({"action": "call_next", "window": 1})
    with pytest.raises(HallError) as info:
        parse_command({"action": "call_next", "window": window})
    assert info.value.code == "bad_request"


def test_requests_with_ids_or_nested_values_are_validated_each_time() -> None:
    a = parse_command({"action": "call_next", "window": 2, "request_id": "r1"})
    assert parse_command({"action": "call_next", "window": 2, "request_id": "r1"}) is not a
    report = {"action": "record_report", "day": "2026-11-25", "summary": {"served": 3}}
    assert parse_command(report).summary == {"served": 3}
    with pytest.raises(HallError):
        parse_command({"action": "record_report", "day": "2026-11-25", "summary": [1]})
