"""Sinks in the real daemon: kill -9 mid-batch, again and again; after the last restart every
back end holds every journal record exactly once (webhook: once per id after dropping repeats;
PostgreSQL: one row per id; JetStream: one message per id by Nats-Msg-Id), and
`hallctl status` shows each sink's health."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from hallctl.journal import Journal
from tests.backend_servers import NatsServer
from tests.sinks_support import SECRET, WebhookReceiver
from tests.system.halls import DaemonProcess, write_hall
from tests.test_sink_nats import stream_messages

pytestmark = pytest.mark.slow


def sinks_yaml(hook_url: str, dsn: str, nats_url: str) -> str:
    return f"""
sinks:
  - {{name: hook, type: webhook, url: '{hook_url}', secret_env: HOOK_SECRET, batch: 5,
     start: beginning, timeout_s: 2, retry_min_s: 0.05, retry_max_s: 0.2}}
  - {{name: db, type: postgresql, dsn: '{dsn}', batch: 5, start: beginning,
     retry_min_s: 0.05, retry_max_s: 0.2}}
  - {{name: js, type: nats, servers: ['{nats_url}'], batch: 5, start: beginning,
     retry_min_s: 0.05, retry_max_s: 0.2}}
"""


async def test_kill_minus_nine_mid_batch_resends_from_the_cursor(
    tmp_path: Path, pg_dsn: str, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    async with WebhookReceiver(delay_s=0.05) as rx:
        rx.script = ["ok-late"]  # the first batch is stored but never answered: re-sent
        daemon = DaemonProcess(write_hall(tmp_path, sinks_yaml(rx.url, pg_dsn, nats_server.url)),
                               tmp_path / "daemon.log")
        for round_ in range(3):
            await asyncio.to_thread(daemon.start)
            for n in range(15):
                answer = await asyncio.to_thread(
                    daemon.request,
                    {"action": "take_ticket", "service": "SB", "request_id": f"r{round_}:{n}"},
                )
                assert answer["ok"], answer
            await asyncio.sleep(0.15)  # batches in flight to the slow receiver
            daemon.kill9()
        await asyncio.to_thread(daemon.start)
        with Journal(tmp_path / "data" / "journal.db") as journal:
            last = journal.last_seq()

            async def caught_up() -> bool:
                return all(journal.cursor(f"sink:{n}") == last for n in ("hook", "db", "js"))

            for _ in range(400):
                if await caught_up():
                    break
                await asyncio.sleep(0.05)
            status = (await asyncio.to_thread(daemon.request, {"action": "status"}))["result"]
            shown = (await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "hallctl.cli", "status", "-c", str(daemon.config)],
                capture_output=True, text=True, check=True,
            )).stdout
            daemon.stop()
            ids = [r.id for r in journal.replay()]
        lags = {s["name"]: s["lag_records"] for s in status["components"]["sinks"]}
        assert lags == {"hook": 0, "db": 0, "js": 0}
        assert [e["id"] for e in rx.unique] == ids
        assert len(rx.accepted) > len(ids), "a kill mid-batch should have caused re-sends"
        conn = await asyncpg.connect(pg_dsn)
        try:
            table = [r["id"] for r in await conn.fetch("SELECT id FROM hallctl.events ORDER BY n")]
        finally:
            await conn.close()
        assert table == ids
        assert [m[2]["id"] for m in await stream_messages(nats_server.url)] == ids
        hook_line = next(line for line in shown.splitlines() if line.startswith("hook"))
        assert hook_line.split()[:4] == ["hook", "webhook", "ok", "0"]
