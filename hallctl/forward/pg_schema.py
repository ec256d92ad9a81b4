"""The central PostgreSQL schema: events keyed by their id, created and migrated by hallctl.

Both the PostgreSQL sink (one hall) and `hallctl collect` (a city) write here. An event's `id`
is its primary key and a write is `ON CONFLICT DO NOTHING`, so a batch sent again after a
timeout or a crash leaves exactly one row per event. `n` numbers rows in arrival order, which
lets a reader check (and follow) each hall's events in journal order.

Migration N brings the schema from N-1 to N, in one transaction under an advisory lock, so
fifty halls starting at once do not race. Never edit a released step: add one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import asyncpg
import structlog

from hallctl.journal import Record

log = structlog.get_logger(__name__)

_LOCK_KEY: Final = 0x68616C6C  # "hall", shared by every hallctl writing to this database

_MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        """CREATE TABLE {s}.events (
            id text PRIMARY KEY,
            n bigserial NOT NULL,
            hall text NOT NULL,
            seq bigint NOT NULL,
            type text NOT NULL,
            ts timestamptz NOT NULL,
            v integer NOT NULL,
            data jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        )""",
        "CREATE INDEX events_hall_seq ON {s}.events (hall, seq)",
        "CREATE INDEX events_type_ts ON {s}.events (type, ts)",
        # Where a collector is in its stream; written in the same transaction as the rows.
        """CREATE TABLE {s}.positions (
            reader text PRIMARY KEY,
            position bigint NOT NULL
        )""",
        # KPI views for dashboards and reports (the 电子监察 figures a city asks for first).
        """CREATE VIEW {s}.daily_tickets AS
            SELECT hall, (data->>'day')::date AS day, data->>'service' AS service,
                   count(*) AS tickets
            FROM {s}.events WHERE type = 'ticket.issued'
            GROUP BY 1, 2, 3""",
        # 满意率 = (非常满意 + 满意 + 基本满意) / evaluated, 参评率 = evaluated / all, as the
        # hall's own status computes them (levels.py: level <= 2 is a bad review)
        """CREATE VIEW {s}.daily_evaluations AS
            SELECT hall, day, evaluated, satisfied, unsatisfied, total,
                   round(100.0 * satisfied / NULLIF(evaluated, 0), 2) AS satisfaction_pct,
                   round(100.0 * evaluated / NULLIF(total, 0), 2) AS participation_pct
            FROM (SELECT hall, (ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
                         count(*) FILTER (WHERE (data->>'evaluated')::boolean) AS evaluated,
                         count(*) FILTER (WHERE (data->>'level')::int >= 3) AS satisfied,
                         count(*) FILTER (WHERE (data->>'level')::int <= 2) AS unsatisfied,
                         count(*) AS total
                  FROM {s}.events WHERE type = 'evaluation.recorded'
                  GROUP BY 1, 2) AS d""",
    ),
}
SCHEMA_VERSION: Final = max(_MIGRATIONS)


async def migrate(conn: asyncpg.Connection, schema: str) -> int:
    """Create or bring the schema up to date; returns the version it was at before."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.meta (key text PRIMARY KEY, value text NOT NULL)"
        )
        row = await conn.fetchval(f"SELECT value FROM {schema}.meta WHERE key = 'schema_version'")
        version = int(row) if row is not None else 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"PostgreSQL schema {schema} is at version {version}; this hallctl knows up to "
                f"{SCHEMA_VERSION} (upgrade hallctl)"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target]:
                await conn.execute(statement.format(s=schema))
        if version < SCHEMA_VERSION:
            await conn.execute(
                f"INSERT INTO {schema}.meta (key, value) VALUES ('schema_version', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                str(SCHEMA_VERSION),
            )
            log.info("pg.migrated", schema=schema, from_version=version, to=SCHEMA_VERSION)
    return version


Row = tuple[str, str, int, str, str, int, str]  # id, hall, seq, type, ts, v, data (JSON text)


def rows_of(hall: str, records: Sequence[Record]) -> list[Row]:
    return [(r.id, hall, r.seq, r.type, r.ts, r.v, r.data) for r in records]


async def insert_events(conn: asyncpg.Connection, schema: str, rows: Sequence[Row]) -> int:
    """Insert in the given order, one row per id; returns how many were new.

    One statement over arrays (unnest) instead of executemany: one round trip per batch.
    WITH ORDINALITY + ORDER BY keeps `n` in the batch's order.
    """
    if not rows:
        return 0
    columns: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)]
    result = await conn.execute(
        f"""INSERT INTO {schema}.events (id, hall, seq, type, ts, v, data)
            SELECT id, hall, seq, type, ts::timestamptz, v, data::jsonb
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[],
                        $6::int[], $7::text[]) WITH ORDINALITY
                 AS b(id, hall, seq, type, ts, v, data, i)
            ORDER BY i
            ON CONFLICT (id) DO NOTHING""",
        *columns,
    )
    return int(result.split()[-1])


def is_transient(exc: BaseException) -> bool:
    """Whether a PostgreSQL error may pass by itself (connection, shutdown, overload)."""
    if isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    # 08 connection, 53 insufficient resources, 57 operator intervention (shutdown),
    # 40 transaction rollback (serialization, deadlock), 55P03 lock not available
    return state[:2] in ("08", "53", "57", "40") or state == "55P03"
