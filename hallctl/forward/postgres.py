"""PostgreSQL sink: each batch upserted by event id in one transaction (asyncpg).

`open` connects and creates or migrates the schema (forward/pg_schema.py). `deliver` inserts
the batch with `ON CONFLICT (id) DO NOTHING`: it returns once PostgreSQL has committed, and a
batch sent again after a crash leaves one row per event. Connection loss, server shutdown and
overload are retried; any other error (permissions, a full disk reported as such, a schema
from a newer hallctl) parks the sink with an alarm.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from hallctl.forward.config import PostgresSink
from hallctl.forward.contract import SinkRejected, SinkUnavailable
from hallctl.forward.pg_schema import insert_events, is_transient, migrate, rows_of
from hallctl.journal import Record


def _failure(exc: BaseException, doing: str) -> Exception:
    message = f"PostgreSQL {doing}: {type(exc).__name__}: {exc}"
    return SinkUnavailable(message) if is_transient(exc) else SinkRejected(message)


class PostgresDelivery:
    """Implements `Sink` for one PostgreSQL database."""

    def __init__(self, config: PostgresSink, hall: str) -> None:
        self._config = config
        self._hall = hall
        self._conn: asyncpg.Connection | None = None

    async def open(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        try:
            password = self._config.password()
        except ValueError as exc:
            raise SinkRejected(str(exc)) from None
        try:
            self._conn = await asyncpg.connect(
                self._config.dsn, password=password, timeout=self._config.timeout_s,
                command_timeout=self._config.timeout_s,
            )
            await migrate(self._conn, self._config.schema_name)
        except Exception as exc:
            await self.close()
            raise _failure(exc, "connect") from exc

    async def deliver(self, records: Sequence[Record]) -> None:
        assert self._conn is not None, "open() first"
        try:
            await insert_events(
                self._conn, self._config.schema_name, rows_of(self._hall, records)
            )
        except Exception as exc:
            raise _failure(exc, "insert") from exc

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # never waits on a dead server
