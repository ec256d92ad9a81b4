"""PostgreSQL sink against a real PostgreSQL: schema made by hallctl, one row per event id,
nothing lost across a server outage or a re-sent batch."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from hallctl.forward.config import PostgresSink
from hallctl.forward.contract import SinkRejected, SinkUnavailable
from hallctl.forward.pg_schema import SCHEMA_VERSION, migrate
from hallctl.forward.postgres import PostgresDelivery
from hallctl.journal import Journal, Record
from tests.backend_servers import PostgresServer
from tests.sinks_support import issue, journal_ids, running_engine, sinks_running, wait_for


def pg_sink(dsn: str, more: str = "") -> str:
    return (
        f"sinks:\n  - {{name: db, type: postgresql, dsn: '{dsn}', start: beginning, "
        f"retry_min_s: 0.05, retry_max_s: 0.2, timeout_s: 2{', ' + more if more else ''}}}\n"
    )


async def table_ids(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM hallctl.events ORDER BY n")]
    finally:
        await conn.close()


async def test_events_land_once_each_in_journal_order(tmp_path: Path, pg_dsn: str) -> None:
    async with running_engine(tmp_path, pg_sink(pg_dsn, "batch: 9")) as engine:
        await issue(engine, 25)
        async with sinks_running(engine):
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:db") == last)
        assert await table_ids(pg_dsn) == journal_ids(engine.journal)
        conn = await asyncpg.connect(pg_dsn)
        try:
            row = await conn.fetchrow("SELECT * FROM hallctl.events WHERE seq = 2")
            assert row["hall"] == "sys-hall" and row["type"] == "ticket.issued"
            assert '"ticket": "B0001"' in row["data"]  # jsonb, queryable
            tickets = await conn.fetchval("SELECT sum(tickets) FROM hallctl.daily_tickets")
            assert tickets == 25
            version = await conn.fetchval(
                "SELECT value FROM hallctl.meta WHERE key = 'schema_version'"
            )
            assert version == str(SCHEMA_VERSION)
            assert await migrate(conn, "hallctl") == SCHEMA_VERSION  # a second run: no change
        finally:
            await conn.close()


async def test_a_batch_sent_twice_leaves_one_row_per_event(tmp_path: Path, pg_dsn: str) -> None:
    async with running_engine(tmp_path) as engine:
        await issue(engine, 5)
    with Journal(tmp_path / "data" / "journal.db") as journal:
        records = journal.read_after(0)
    sink = PostgresDelivery(PostgresSink(type="postgresql", name="db", dsn=pg_dsn), "h1")
    await sink.open()
    try:
        await sink.deliver(records[:4])
        await sink.deliver(records)  # a re-send after a crash overlaps what is there
        await sink.deliver(records)
    finally:
        await sink.close()
    assert await table_ids(pg_dsn) == [r.id for r in records]


async def test_a_server_outage_of_any_length_loses_nothing(
    tmp_path: Path, postgres_server: PostgresServer, pg_dsn: str
) -> None:
    async with running_engine(tmp_path, pg_sink(pg_dsn, "batch: 5")) as engine:
        async with sinks_running(engine) as sinks:
            await issue(engine, 10)
            await wait_for(lambda: engine.journal.cursor("sink:db") == engine.last_seq())
            postgres_server.stop()
            try:
                await issue(engine, 20)  # the hall goes on while its back end is down
                await wait_for(lambda: sinks.report()[0]["state"] == "retrying")
                assert sinks.report()[0]["lag_records"] == 20
            finally:
                postgres_server.start()
            await issue(engine, 5)
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:db") == last, within_s=20)
        assert await table_ids(pg_dsn) == journal_ids(engine.journal)


async def test_the_evaluation_view_gives_satisfaction_and_participation(pg_dsn: str) -> None:
    def evaluation(seq: int, level: int | None) -> Record:
        data = {"ticket": f"A{seq:03d}", "service": "BDC", "service_name": "不动产登记",
                "window": 1, "level": level, "level_name": "x", "label_zh": "x",
                "evaluated": level is not None}
        return Record(seq, f"ev{seq}", "evaluation.recorded", "2026-11-30T10:00:00+08:00",
                      "2026-11-30", None, 1, json.dumps(data, ensure_ascii=False))

    sink = PostgresDelivery(PostgresSink(type="postgresql", name="db", dsn=pg_dsn), "h1")
    await sink.open()
    try:
        await sink.deliver([evaluation(1, 5), evaluation(2, 3), evaluation(3, 1),
                            evaluation(4, None)])
    finally:
        await sink.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM hallctl.daily_evaluations")
    finally:
        await conn.close()
    assert str(row["day"]) == "2026-11-30"
    assert (row["evaluated"], row["satisfied"], row["unsatisfied"], row["total"]) == (3, 2, 1, 4)
    assert str(row["satisfaction_pct"]) == "66.67" and str(row["participation_pct"]) == "75.00"


async def test_an_unreachable_server_is_retried_not_parked(pg_dsn: str) -> None:
    dead = pg_dsn.rsplit(":", 1)[0] + ":1/db"
    sink = PostgresDelivery(PostgresSink(type="postgresql", name="db", dsn=dead), "h1")
    try:
        await sink.open()
    except SinkUnavailable as exc:
        assert "connect" in str(exc)
    else:
        raise AssertionError("connecting to a closed port should fail")


async def test_a_schema_from_a_newer_hallctl_parks_the_sink(pg_dsn: str) -> None:
    sink = PostgresDelivery(PostgresSink(type="postgresql", name="db", dsn=pg_dsn), "h1")
    await sink.open()
    await sink.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("UPDATE hallctl.meta SET value = '99' WHERE key = 'schema_version'")
    finally:
        await conn.close()
    try:
        await sink.open()
    except SinkRejected as exc:
        assert "version 99" in str(exc) and "upgrade hallctl" in str(exc)
    else:
        raise AssertionError("a newer schema must not be written to")
