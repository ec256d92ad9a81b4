"""Punch lines a clock sent that could not be read: kept raw, durably, before the clock is told OK.

A ZKTeco clock deletes (or stops resending) whatever lines the server acknowledged. A line we
cannot parse is therefore written here first, and only then acknowledged; if it cannot be
written, the clock is told to resend. An operator reads them with sqlite3
(`SELECT * FROM attendance_quarantine`), fixes the mapping or the firmware, and enters the
punches by hand.

The table lives in the journal's database file (`store.AttendanceStore`): the same durability,
file mode and backups as every acknowledged ticket. Not a journaled event: raw clock text does
not belong in the event stream forwarded to back ends, and it is not a hall state change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hallctl.attendance.store import AttendanceStore

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
    def __init__(self, store: AttendanceStore) -> None:
        self.store = store

    def keep(self, device: str, source: str, reason: str, lines: Sequence[str]) -> int:
        """Store `lines` in one transaction; durable when this returns. Returns how many."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            (now, device, source, reason, line if len(line) <= MAX_LINE else line[:MAX_LINE] + "…")
            for line in lines
        ]
        with self.store.transaction() as db:
            db.executemany(
                "INSERT INTO attendance_quarantine (received_at, device, source, reason, line)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    async def keep_async(self, device: str, source: str, reason: str, lines: Sequence[str]) -> int:
        return await asyncio.to_thread(self.keep, device, source, reason, lines)

    def count(self) -> int:
        [(n,)] = self.store.query("SELECT count(*) FROM attendance_quarantine")
        return int(n)

    def lines(self, limit: int = 100) -> list[QuarantinedLine]:
        rows = self.store.query(
            "SELECT id, received_at, device, source, reason, line FROM attendance_quarantine"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [QuarantinedLine(*row) for row in rows]
