"""The city collector: every hall's events from a JetStream stream into one PostgreSQL.

Exactly once per event id: a row's primary key is the event id and inserts are
`ON CONFLICT DO NOTHING`. Per hall in order: each hall's sink publishes in journal order, the
stream keeps that order, and the collector writes the stream in order, batch by batch, one
transaction each.

Where the collector is in the stream is stored in PostgreSQL (`positions`), in the same
transaction as the rows, and is the truth: at every start the durable consumer is re-created
to deliver from there. So a crash between commit and ack, or a consumer lost with a JetStream
node, neither skips nor reorders anything; at worst a few messages arrive again and are dropped
by id. One collector per consumer name is active at a time (a PostgreSQL advisory lock):
a second one started for fail-over waits until the first is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import nats
import nats.errors
import nats.js.errors
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from hallctl.forward.pg_schema import Row, insert_events, migrate

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CollectorSettings:
    servers: list[str]
    dsn: str
    password: str | None = None
    stream: str = "HALLCTL"
    subjects: str = "hallctl.>"
    durable: str = "hallctl-collector"
    schema: str = "hallctl"
    batch: int = 500
    retry_s: float = 1.0


@dataclass
class CollectorStats:
    written: int = 0  # new rows
    repeats: int = 0  # messages whose event id was already there
    batches: int = 0
    position: int = 0
    last_error: str | None = None
    halls: set[str] = field(default_factory=set)


def _lock_key(durable: str) -> int:
    return int.from_bytes(hashlib.sha256(durable.encode()).digest()[:8], "big", signed=True)


def row_of(data: bytes) -> Row:
    e: dict[str, Any] = json.loads(data)
    text = json.dumps(e["data"], ensure_ascii=False, separators=(",", ":"))
    return (e["id"], e["hall"], int(e["seq"]), e["type"], e["ts"], int(e["v"]), text)


class Collector:
    def __init__(self, settings: CollectorSettings) -> None:
        self.settings = settings
        self.stats = CollectorStats()

    async def run(self) -> None:
        """Collect until cancelled; failures of NATS or PostgreSQL are retried."""
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("collect.retry", error=self.stats.last_error,
                            retry_in_s=self.settings.retry_s)
            await asyncio.sleep(self.settings.retry_s)

    async def _session(self) -> None:
        s = self.settings
        conn = await asyncpg.connect(s.dsn, password=s.password, timeout=10)
        try:
            await migrate(conn, s.schema)
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_key(s.durable)):
                raise RuntimeError(f"another collector named {s.durable} is active")
            position = await conn.fetchval(
                f"SELECT position FROM {s.schema}.positions WHERE reader = $1", s.durable
            )
            self.stats.position = int(position or 0)
            nc = await nats.connect(servers=s.servers, allow_reconnect=False, connect_timeout=5)
            try:
                await self._consume(conn, nc)
            finally:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await nc.close()
        finally:
            conn.terminate()

    async def _consume(self, conn: asyncpg.Connection, nc: Any) -> None:
        s = self.settings
        js = nc.jetstream(timeout=10)
        # The consumer restarts from the position committed with the rows (see module doc).
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_consumer(s.stream, s.durable)
        start = self.stats.position + 1
        config = ConsumerConfig(
            durable_name=s.durable,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start > 1 else DeliverPolicy.ALL,
            opt_start_seq=start if start > 1 else None,
            ack_policy=AckPolicy.ALL,
            ack_wait=60,
            max_ack_pending=s.batch * 4,
            filter_subject=s.subjects,
        )
        sub = await js.pull_subscribe(s.subjects, durable=s.durable, stream=s.stream,
                                      config=config)
        log.info("collect.started", stream=s.stream, durable=s.durable, position=start - 1)
        while True:
            try:
                messages = await sub.fetch(s.batch, timeout=1.0)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            if not messages:  # a fetch may end empty (e.g. a status message only)
                continue
            fresh = [m for m in messages if m.metadata.sequence.stream > self.stats.position]
            if fresh:
                await self._write(conn, fresh)
            await messages[-1].ack()  # AckAll: every message up to here

    async def _write(self, conn: asyncpg.Connection, messages: list[Any]) -> None:
        s = self.settings
        rows = [row_of(m.data) for m in messages]
        last = messages[-1].metadata.sequence.stream
        async with conn.transaction():
            new = await insert_events(conn, s.schema, rows)
            await conn.execute(
                f"INSERT INTO {s.schema}.positions (reader, position) VALUES ($1, $2) "
                "ON CONFLICT (reader) DO UPDATE SET position = excluded.position",
                s.durable, last,
            )
        st = self.stats
        st.position = last
        st.written += new
        st.repeats += len(rows) - new
        st.batches += 1
        st.halls.update(r[1] for r in rows)
