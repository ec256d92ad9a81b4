"""`hallctl collect`: several halls → NATS JetStream → one PostgreSQL, exactly once per event id
and each hall in journal order, across a kill -9 of the collector."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from hallctl.cli import main
from hallctl.forward.collector import Collector, CollectorSettings
from tests.backend_servers import NatsServer
from tests.sinks_support import issue, journal_ids, running_engine, sinks_running, wait_for
from tests.test_sink_nats import nats_sink


def start_collector(nats_url: str, dsn: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hallctl.cli", "collect", "--nats", nats_url, "--pg", dsn,
             "--batch", "7", "--stats-every", "0.5"],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )


async def rows(dsn: str) -> list[asyncpg.Record]:
    try:
        conn = await asyncpg.connect(dsn)
    except OSError:
        return []
    try:
        return await conn.fetch("SELECT id, hall, seq FROM hallctl.events ORDER BY n")
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await conn.close()


async def test_halls_land_once_each_and_in_order_across_a_collector_kill(
    tmp_path: Path, nats_server: NatsServer, pg_dsn: str
) -> None:
    log = tmp_path / "collect.log"
    halls = ["xa-yt", "xa-bl", "xa-lh"]
    async with contextlib.AsyncExitStack() as stack:
        engines = [
            await stack.enter_async_context(
                running_engine(tmp_path / h, nats_sink(nats_server.url, "batch: 10"), hall=h)
            )
            for h in halls
        ]
        for engine in engines:
            await stack.enter_async_context(sinks_running(engine))
            await issue(engine, 20)
        collector = start_collector(nats_server.url, pg_dsn, log)
        try:
            seen: list[asyncpg.Record] = []

            async def poll() -> bool:
                seen[:] = await rows(pg_dsn)
                return len(seen) >= 15

            while not await poll():
                assert collector.poll() is None, log.read_text()[-2000:]
                await asyncio.sleep(0.02)
            collector.kill()  # kill -9 mid-run
            collector.wait()
            for engine in engines:
                await issue(engine, 15)
            collector = start_collector(nats_server.url, pg_dsn, log)
            total = sum(e.last_seq() for e in engines)
            for _ in range(600):  # 30 s at most
                seen[:] = await rows(pg_dsn)
                if len(seen) >= total:
                    break
                await asyncio.sleep(0.05)
            assert len(seen) == total, log.read_text()[-3000:]
        finally:
            collector.terminate()
            collector.wait(timeout=10)
        for hall, engine in zip(halls, engines, strict=True):
            mine = [r for r in seen if r["hall"] == hall]
            assert [r["id"] for r in mine] == journal_ids(engine.journal)  # once, in order
            assert [r["seq"] for r in mine] == list(range(1, engine.last_seq() + 1))


async def test_a_second_collector_waits_and_takes_over(
    tmp_path: Path, nats_server: NatsServer, pg_dsn: str
) -> None:
    settings = CollectorSettings(servers=[nats_server.url], dsn=pg_dsn, batch=5, retry_s=0.1)
    first, second = Collector(settings), Collector(settings)
    async with running_engine(tmp_path, nats_sink(nats_server.url)) as engine:
        async with sinks_running(engine):
            await issue(engine, 10)
            active = asyncio.create_task(first.run())
            standby: asyncio.Task[None] | None = None
            try:
                await wait_for(lambda: first.stats.written == engine.last_seq(), within_s=20)
                standby = asyncio.create_task(second.run())
                await wait_for(lambda: second.stats.last_error is not None)
                assert "another collector" in str(second.stats.last_error)
                assert second.stats.written == 0
                active.cancel()  # the active one dies: its session and lock go with it
                await issue(engine, 5)
                await wait_for(lambda: second.stats.written == 5, within_s=15)
            finally:
                for task in (active, standby):
                    if task is None:
                        continue
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        assert [r["id"] for r in await rows(pg_dsn)] == journal_ids(engine.journal)


def test_collect_refuses_bad_settings_clearly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HALLCTL_COLLECT_PG", raising=False)
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    assert main(["collect"]) == 2
    assert "--pg" in capsys.readouterr().err
    assert main(["collect", "--pg", "postgresql://u@h/db", "--pg-password-env", "NO_SUCH_VAR"]) == 2
    assert "NO_SUCH_VAR is not set" in capsys.readouterr().err
    assert main(["collect", "--pg", "postgresql://u@h/db", "--batch", "0"]) == 2
