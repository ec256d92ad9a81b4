"""The journal's snapshot table: the hall state folded up to a seq, the latest couple kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Final

from hallctl.journal_sqlite import check_seq, transaction

__all__ = ["SNAPSHOTS_KEPT", "latest", "latest_seq", "save"]

SNAPSHOTS_KEPT: Final = 2


def save(conn: sqlite3.Connection, seq: int, blob: bytes) -> None:
    """Store the state folded up to ``seq`` through the writer ``conn``; drop older ones."""
    created = datetime.now(UTC).isoformat(timespec="seconds")
    with transaction(conn):
        check_seq(conn, seq, "snapshot")
        # Space first, then the bytes through incremental blob I/O: a blob bound as a
        # parameter stays copied in the cached statement until its next use (a day's
        # snapshot: 2.5 MB resident for good).
        conn.execute(
            "INSERT OR REPLACE INTO snapshots (seq, created, blob) VALUES (?, ?, zeroblob(?))",
            (seq, created, len(blob)),
        )
        if blob:
            with conn.blobopen("snapshots", "blob", seq) as out:
                out.write(blob)
        conn.execute(
            "DELETE FROM snapshots WHERE seq NOT IN "
            "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
            (SNAPSHOTS_KEPT,),
        )


def latest(conn: sqlite3.Connection) -> tuple[int, bytes] | None:
    """The latest snapshot as (seq, blob), or None."""
    row = conn.execute("SELECT seq, blob FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), bytes(row[1])) if row else None


def latest_seq(conn: sqlite3.Connection) -> int:
    """The latest snapshot's seq, 0 for none (retention never deletes past it)."""
    snap = conn.execute("SELECT MAX(seq) FROM snapshots").fetchone()[0]
    return int(snap) if snap is not None else 0
