"""Event ids: ULIDs in Crockford base32, sortable in creation order."""

from __future__ import annotations

import os
import random
import time

import pytest

from hallctl import ids
from hallctl.ids import encode, new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def by_hand(value: int, length: int) -> str:
    """The ULID spec's encoding, one 5-bit digit at a time."""
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(length)))


def test_the_encoding_is_the_ulid_specs_digit_for_digit() -> None:
    rng = random.Random(15)
    cases = [(0, 0), (2**48 - 1, 2**80 - 1), (1, 1), (2**47, 2**79)]
    cases += [(rng.getrandbits(48), rng.getrandbits(80)) for _ in range(2000)]
    for ms, rand in cases:
        assert encode(ms, rand) == by_hand(ms, 10) + by_hand(rand, 16)


def test_the_ulid_specs_example() -> None:
    # 01ARZ3NDEKTSV4RRFFQ69G5FAV, from the ULID specification
    assert encode(1469922850259, 0)[:10] == "01ARZ3NDEK"
    assert encode(1469922850259, by_value("TSV4RRFFQ69G5FAV")) == "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def by_value(digits: str) -> int:
    value = 0
    for c in digits:
        value = value * 32 + CROCKFORD.index(c)
    return value


def test_ids_sort_in_creation_order_even_within_one_millisecond() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 and set(i) <= set(CROCKFORD) for i in ids)


def test_an_id_carries_the_time_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= by_value(made[:10]) <= after


def test_ids_of_one_millisecond_count_up_across_a_carry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within a millisecond only the last digits are made anew: a carry into the others
    (the random part's low 10 bits wrapping) must still give the next value, in order."""
    for name in ("_last_ms", "_last_rand", "_last_ms_text", "_head"):
        monkeypatch.setattr(ids, name, getattr(ids, name))  # put back afterwards
    ms = time.time_ns() // 1_000_000 + 10_000  # later than any id made so far in this process
    monkeypatch.setattr(time, "time_ns", lambda: ms * 1_000_000)
    start = (0x1234 << 66) | 1020  # 79 bits at most, 4 steps below a carry
    monkeypatch.setattr(os, "urandom", lambda n: (start << 1).to_bytes(n, "big"))
    made = [new_id() for _ in range(2100)]  # two carries
    assert [by_value(m[10:]) for m in made] == list(range(start, start + 2100))
    assert {m[:10] for m in made} == {encode(ms, 0)[:10]}
