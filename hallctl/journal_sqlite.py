"""What every part of the journal shares: its error, its SQLite connections, a write
transaction, the last seq."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

__all__ = ["CACHE_KIB", "JournalError", "check_seq", "connect", "last_seq_in", "transaction"]

# SQLite's page cache per connection. The default (2 MB) cost the daemon 2 MB a connection of
# its 60 MB budget on a busy day; the journal's hot pages are B-tree tails, and every other
# page is in the OS cache anyway (no disk read, a copy).
CACHE_KIB: Final = 512


class JournalError(Exception):
    """The journal cannot be opened or used (bad file, closed journal, rejected write)."""


def connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (no implicit transactions).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA synchronous = FULL")  # per connection; FULL: fsync every commit
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so the commit cannot fail on a lock upgrade.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back (e.g. disk full): don't mask the real error.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def last_seq_in(conn: sqlite3.Connection) -> int:
    # sqlite_sequence keeps the high-water mark even after prune() emptied the table.
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return int(row[0]) if row else 0


def check_seq(conn: sqlite3.Connection, seq: int, what: str) -> None:
    last = last_seq_in(conn)
    if not 0 <= seq <= last:
        raise ValueError(f"{what} seq {seq} outside the journal (last seq is {last})")
