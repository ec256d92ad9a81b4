"""Event ids: ULID text (time-sortable, unique), monotonic within this process."""

from __future__ import annotations

import os
import threading
import time
from typing import Final

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
# Every 10-bit value as its two digits: 8 lookups make the 80 random bits, where a loop of one
# digit at a time cost several times more (an id per event is on the engine's hot path, and
# base64.b32encode is pure Python before 3.13).
_PAIRS: Final = [a + b for a in _ALPHABET for b in _ALPHABET]
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0
_last_ms_text = ""
_head = ""  # the id's first 24 characters, while only its last two change


def _digits(value: int, pairs: int) -> str:
    p = _PAIRS
    return "".join([p[(value >> shift) & 1023] for shift in range(10 * (pairs - 1), -1, -10)])


def encode(ms: int, rand: int) -> str:
    """The 26 characters of a ULID: 48-bit milliseconds then 80 random bits, base32."""
    return _digits(ms, 5) + _digits(rand, 8)


def new_id() -> str:
    """26-character ULID; ids made in the same millisecond still sort in creation order.

    Within a millisecond the random part counts up by one, so its text changes only in its
    last two digits until they carry: those ids are the kept head plus one pair (0.3 µs where
    the whole text cost 0.9; a busy engine makes tens of ids a millisecond)."""
    global _last_ms, _last_rand, _last_ms_text, _head
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _last_rand += 1
            low = _last_rand & 1023
            if low:
                return _head + _PAIRS[low]
        else:
            _last_ms = ms
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to count up
            _last_ms_text = _digits(ms, 5)  # the same for every id of this millisecond
        r = _last_rand
        _head = _last_ms_text + _digits(r >> 10, 7)
        return _head + _PAIRS[r & 1023]
