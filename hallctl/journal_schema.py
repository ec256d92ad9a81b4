"""The journal's schema and its migrations: a journal opened is brought to SCHEMA_VERSION in
one transaction, and a foreign database or a newer schema is refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import structlog

from hallctl.journal_sqlite import JournalError, transaction

__all__ = ["APPLICATION_ID", "NEVER", "SCHEMA_VERSION", "open_schema"]

log = structlog.get_logger("hallctl.journal")  # all the journal's log events under one name

# Written into the SQLite header so a journal is recognisable (`file`, sqlite3 CLI) and a
# foreign database is refused instead of being silently "migrated". ASCII "hall".
APPLICATION_ID: Final = 0x68616C6C
NEVER: Final = 2**63  # a `plain_from` no seq reaches

# Migration N brings the schema from version N-1 to N. Never edit a released step: add one.

_V1: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # AUTOINCREMENT: a seq is never reused, even when prune() has emptied the table.
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        ts TEXT NOT NULL,
        day TEXT NOT NULL,
        request_id TEXT,
        v INTEGER NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX events_day ON events(day)",
    # Partial: most events (ticks, device status) carry no request id.
    "CREATE INDEX events_request_id ON events(request_id) WHERE request_id IS NOT NULL",
    "CREATE TABLE cursors (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, created TEXT NOT NULL, blob BLOB NOT NULL)",
)

# Idempotency: the answer to each request id, written in the same transaction as its events,
# so a client's retry after a crash gets the first answer instead of a second ticket.
_V2: Final = (
    """CREATE TABLE responses (
        request_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        response TEXT NOT NULL
    )""",
)

# Plain fields: from this version on, append() refuses an id, type or ts that JSON would have
# to escape, and `plain_from` is the first seq written under that rule (the next one when an
# older journal is migrated: its rows may hold anything). Forwarders build the envelopes of rows
# from there on without json_quote (journal_envelopes). A version, not just a meta row: an older
# hallctl refuses the journal instead of appending unchecked rows after `plain_from`.
_V3: Final = (
    "INSERT OR REPLACE INTO meta (key, value) SELECT 'plain_from',"
    " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) + 1",
)

_MIGRATIONS: Final[dict[int, Sequence[str]]] = {1: _V1, 2: _V2, 3: _V3}
SCHEMA_VERSION: Final = max(_MIGRATIONS)


def open_schema(conn: sqlite3.Connection, path: Path) -> int:
    """Check the database at ``path`` is a journal, switch it to WAL and migrate it; return its
    `plain_from` (NEVER for a journal that has none: every row goes through json_quote)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if tables and (app_id != APPLICATION_ID or "meta" not in tables):
        raise JournalError(f"{path} is an SQLite database but not a hallctl journal")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise JournalError(f"{path}: cannot switch to WAL mode (got {mode!r})")
    # Let the WAL file shrink back after checkpoints instead of keeping its peak size.
    conn.execute("PRAGMA journal_size_limit = 67108864")
    # One transaction, version read inside it: two processes opening a new file at once
    # cannot both run a migration, and a failed step leaves the old schema intact.
    with transaction(conn):
        version = _schema_version(conn)
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{path} has journal schema {version}; this hallctl knows up to "
                f"{SCHEMA_VERSION} (upgrade hallctl)"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target]:
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
    if version < SCHEMA_VERSION:
        log.info("journal.migrated", path=str(path), from_version=version, to=SCHEMA_VERSION)
    row = conn.execute("SELECT value FROM meta WHERE key = 'plain_from'").fetchone()
    # No record (never written by a migration): every row goes through json_quote.
    return int(row[0]) if row else NEVER


def _schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0
