"""The engine's event encoder writes the journal's JSON text byte for byte, or fails alike."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.event_json import encode_event
from hallctl.journal import encode_json

flat = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
values = flat | st.lists(flat, max_size=3) | st.dictionaries(st.text(max_size=3), flat, max_size=2)
keys = st.text(max_size=6) | st.sampled_from(["ticket", 'a"b', "{x}", "\\", "'", "窗口", "\n"])


def _same(data: dict[str, Any]) -> None:
    try:
        expected: str | type[BaseException] = encode_json(data)
    except (ValueError, TypeError) as e:
        expected = type(e)
    if isinstance(expected, str):
        assert encode_event(data) == expected
    else:
        with pytest.raises(expected):
            encode_event(data)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=8), st.dictionaries(keys, values, max_size=8))
def test_the_same_text_as_the_journals_encoder(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    _same(first)
    # the same keys again with other values (the encoder made for the first is reused)
    _same(dict(zip(first, [*second.values(), *first.values()], strict=False)))
    _same({k: second.get(k, v) for k, v in first.items()})


def test_values_of_another_type_under_known_keys_still_encode_or_fail_alike() -> None:
    base = {"ticket": "A001", "window": 3, "wait_s": 1.5, "staff": None, "auto": True}
    _same(base)
    for key, value in [("window", None), ("wait_s", 2), ("auto", 1), ("staff", ["x"]),
                       ("wait_s", math.nan), ("wait_s", -math.inf), ("ticket", b"A001"),
                       ("window", True), ("ticket", object())]:  # fmt: skip
        _same({**base, key: value})
    _same(base)


def test_the_cores_events_as_the_journal_writes_them() -> None:
    called = {"ticket": "A012", "service": "BDC", "service_name": "不动产登记", "window": 5,
              "window_name": "5号窗口", "staff": "S1", "channel": "normal",
              "wait_s": 12.3}  # fmt: skip
    assert encode_event(called) == (
        '{"ticket":"A012","service":"BDC","service_name":"不动产登记","window":5,'
        '"window_name":"5号窗口","staff":"S1","channel":"normal","wait_s":12.3}'
    )
