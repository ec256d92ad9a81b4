"""The attendance receivers' own tables, kept in the journal's database file.

One SQLite connection of their own (never the journal's), so what they keep has the journal's
durability (WAL, fsync on every commit), file mode and backups. Tables:
- `attendance_quarantine`: punch lines no parser could read (`quarantine.Quarantine`);
- `attendance_keyed_address`: per ZKTeco clock with a communication key, the address that last
  presented it, so a restart of hallctl does not lock such a clock out until it handshakes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS attendance_quarantine (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        device      TEXT NOT NULL,
        source      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        line        TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS attendance_keyed_address (
        sn      TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        at      TEXT NOT NULL
    )""",
)


class AttendanceStore:
    """`path`: the journal's database file; None keeps everything in memory (tests)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path) if path is not None else ":memory:",
            isolation_level=None,
            check_same_thread=False,
            timeout=10.0,
        )
        self._conn.execute("PRAGMA synchronous = FULL")
        for statement in _SCHEMA:
            self._conn.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed (durable) when the block ends without error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()
