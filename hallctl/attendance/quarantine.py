"""Punch lines a clock sent that could not be read: kept raw, durably, before the clock is told OK.

A ZKTeco clock deletes (or stops resending) whatever lines the server acknowledged. A line we
cannot parse is therefore written here first, and only then acknowledged; if it cannot be
written, the clock is told to resend. An operator reads them with `hallctl`-side tools or
sqlite3 (`SELECT * FROM attendance_quarantine`), fixes the mapping or the firmware, and
replays them by hand.

The table lives in the journal's database file (its own table and connection, never touching
the journal's): the same durability (WAL, synchronous FULL), the same 0640 file, the same
backups as every acknowledged ticket. Not a journaled event: raw clock text does not belong in
the event stream forwarded to back ends, and it is not a hall state change.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attendance_quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    device      TEXT NOT NULL,
    source      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    line        TEXT NOT NULL
)
"""
MAX_LINE = 4096  # a line is kept whole up to this; longer ones are cut (and say so)


@dataclass(frozen=True, slots=True)
class QuarantinedLine:
    id: int
    received_at: str
    device: str
    source: str
    reason: str
    line: str


class Quarantine:
    """`path`: the journal's database file; None keeps lines in memory (tests, dry runs)."""

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
        self._conn.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def keep(self, device: str, source: str, reason: str, lines: Sequence[str]) -> int:
        """Store `lines` in one transaction; durable when this returns. Returns how many."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            (now, device, source, reason, line if len(line) <= MAX_LINE else line[:MAX_LINE] + "…")
            for line in lines
        ]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO attendance_quarantine (received_at, device, source, reason, line)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return len(rows)

    async def keep_async(self, device: str, source: str, reason: str, lines: Sequence[str]) -> int:
        return await asyncio.to_thread(self.keep, device, source, reason, lines)

    def count(self) -> int:
        with self._lock:
            (n,) = self._conn.execute("SELECT count(*) FROM attendance_quarantine").fetchone()
        return int(n)

    def lines(self, limit: int = 100) -> list[QuarantinedLine]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, received_at, device, source, reason, line FROM attendance_quarantine"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [QuarantinedLine(*row) for row in rows]
