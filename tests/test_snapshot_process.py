"""Snapshots are made by a separate process that shares no memory with the daemon: it folds the
journal up to a seq exactly as a restart does, so its snapshot is the live state as of that seq.
A snapshot process that fails, is killed or is still running at shutdown changes nothing else."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from hallctl import snapshot, snapshot_process
from hallctl.config import HallConfig, parse_config
from hallctl.engine import SNAPSHOT_FORMAT, HallEngine, snapshot_blob
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.views import retained_state
from hallctl.journal import Journal
from tests.hall.conftest import SMALL_HALL
from tests.serial_support import eventually
from tests.test_engine import Running


@pytest.fixture
def config() -> HallConfig:
    return parse_config(SMALL_HALL)


def snapshot_children() -> list[int]:
    """This process's live snapshot processes (read from /proc, as `ps` would)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue  # ended meanwhile
        if ppid == os.getpid() and b"hallctl.snapshot_process" in cmdline:
            found.append(int(entry))
    return found


async def a_busy_morning(engine: HallEngine, clients: int = 8) -> None:
    await engine.execute({"action": "open_window", "window": 2})

    async def client(n: int) -> None:
        for i in range(30):
            if (i + n) % 3:
                service = ("BDC", "SB")[i % 2]  # BDC reaches its daily cap of 50
                await engine.execute({"action": "take_ticket", "service": service})
            else:
                await engine.execute({"action": "call_next", "window": 2})

    await asyncio.gather(*(client(n) for n in range(clients)))


def no_estimates(engine: HallEngine) -> dict[str, dict[str, Any]]:
    """The retained views, estimates aside: a restarted hall keeps no forecast, its first is a
    fresh run (as in tests/hall/test_invariants.py)."""
    views = engine.retained_state()
    return {k: {f: v for f, v in view.items() if f != "est_wait_min"} for k, view in views.items()}


async def next_numbers(engine: HallEngine) -> list[str]:
    out = []
    for service in ("BDC", "SB", "ZH"):
        r = await engine.execute({"action": "take_ticket", "service": service})
        out.append(r["result"]["ticket"] if r["ok"] else r["error"]["code"])
    return out


async def test_a_snapshot_taken_under_load_is_the_journal_folded_up_to_its_seq(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db", snapshot_every=25) as engine:
        await a_busy_morning(engine)
        await eventually(lambda: engine.journal.load_snapshot() is not None, within=30)
        snap = engine.journal.load_snapshot()
        assert snap is not None
        seq, blob = snap
        fmt, payload = blob.split(b"\n", 1)
        assert fmt.decode() == SNAPSHOT_FORMAT
        from_snapshot = Hall(config, pickle.loads(payload))
        replayed = Hall(config)
        for rec in engine.journal.replay():
            if rec.seq > seq:
                break
            replayed.apply(
                rec.type, json.loads(rec.data), datetime.fromisoformat(rec.ts).timestamp()
            )
        assert 0 < seq < engine.last_seq()  # taken mid-run, not at the end
        assert retained_state(from_snapshot) == retained_state(replayed)
        assert from_snapshot.state.tickets == replayed.state.tickets


async def test_a_restart_from_the_processs_snapshot_alone_is_the_live_engine(
    config: HallConfig, tmp_path: Path
) -> None:
    path = tmp_path / "j.db"
    async with Running(config, path) as live:
        await a_busy_morning(live)
        made = await snapshot_process.make(live.config, path, live.last_seq())
        assert (made.seq, made.after, made.replayed) == (live.last_seq(), 0, live.last_seq())
        async with Running(config, path) as restarted:  # a second engine on the same journal
            assert restarted._since_snapshot == 0  # nothing replayed: the snapshot alone
            assert no_estimates(restarted) == no_estimates(live)
            assert restarted.hall.state.tickets == live.hall.state.tickets
            assert restarted.hall.state.counters == live.hall.state.counters
            numbers = await next_numbers(restarted)
        assert numbers[1] > "B040" and numbers[2] == "H001"
        assert await next_numbers(live) == numbers  # what the live one gives too
