"""Password hashing: argon2id through argon2-cffi, off the event loop, one hash at a time.

argon2-cffi (from the argon2 reference implementation's maintainers' ecosystem) encodes the
salt and parameters in the hash string and tells when a stored hash needs upgrading, so no
crypto is written here. Parameters are OWASP's minimum for argon2id (19 MiB, 2 passes): about
25 ms on a hall PC. Hashing runs in one worker thread behind a lock, so a login storm queues
there and never takes more than one core from the event loop that calls numbers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 6
# Log-ins waiting for the hashing thread beyond this are answered "busy" at once: a storm then
# costs a bounded queue, not unbounded memory and minutes-long answers.
MAX_PENDING = 32  # a 6-digit PIN is the shortest secret a window PC keypad is used with

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")
_dummy: str | None = None


def _dummy_hash() -> str:
    """A hash of nothing anyone can type: unknown staff numbers cost the same as wrong
    passwords, so a log-in answer does not tell which staff numbers exist. Made on first use,
    not at import (a hash costs ~25 ms)."""
    global _dummy
    if _dummy is None:
        _dummy = _hasher.hash("\x00unknown-staff\x00")
    return _dummy


class WeakPassword(ValueError):
    pass


class Busy(Exception):
    """Too many log-ins are waiting for the hashing thread; try again shortly."""


_pending = 0


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password or PIN needs at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; None (no such account) costs a full verify."""
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


async def verify_async(stored: str | None, password: str) -> bool:
    global _pending
    if _pending >= MAX_PENDING:
        raise Busy
    _pending += 1
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_pool, verify, stored, password)
    finally:
        _pending -= 1
