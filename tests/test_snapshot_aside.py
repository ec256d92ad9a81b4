"""Snapshots are made in a forked child: the event loop keeps serving while the state is pickled,
and the snapshot is the state exactly as of its seq, whatever happens in the parent meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import time
from datetime import datetime
from pathlib import Path

import pytest

from hallctl import forked, snapshot
from hallctl.config import HallConfig, parse_config
from hallctl.engine import SNAPSHOT_FORMAT, snapshot_blob
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.views import retained_state
from tests.hall.conftest import SMALL_HALL
from tests.serial_support import eventually
from tests.test_engine import Running


async def test_the_child_sees_memory_as_it_was_at_the_fork() -> None:
    state = {"n": 1}
    child = forked.fork(lambda: json.dumps(state).encode())
    state["n"] = 2  # the parent goes on changing it
    assert await child.result() == b'{"n": 1}'


async def test_the_loop_keeps_running_while_the_child_works() -> None:
    child = forked.fork(lambda: (time.sleep(0.5), b"slow")[1])
    ticks = 0
    result = asyncio.ensure_future(child.result())
    while not result.done():
        await asyncio.sleep(0.01)
        ticks += 1
    assert result.result() == b"slow"
    assert ticks >= 20  # the loop ran all along (blocked, it would tick about once)


async def test_bytes_larger_than_a_pipe_come_back_whole() -> None:
    big = os.urandom(3 << 20)
    assert await forked.fork(lambda: big).result() == big


async def test_a_child_that_fails_is_reported_and_reaped() -> None:
    def boom() -> bytes:
        raise RuntimeError("no")

    child = forked.fork(boom)
    with pytest.raises(forked.ChildFailed, match="ended with 1"):
        await child.result()
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # noqa: ASYNC222 - already reaped: no zombie left


async def test_a_snapshot_taken_under_load_is_the_journal_folded_up_to_its_seq(
    tmp_path: Path,
) -> None:
    config: HallConfig = parse_config(SMALL_HALL)
    async with Running(config, tmp_path / "j.db", snapshot_every=25) as engine:
        await engine.execute({"action": "open_window", "window": 2})

        async def client(n: int) -> None:
            for i in range(30):
                if (i + n) % 3:
                    await engine.execute({"action": "take_ticket", "service": "BDC"})
                else:
                    await engine.execute({"action": "call_next", "window": 2})

        await asyncio.gather(*(client(n) for n in range(8)))
        await eventually(lambda: engine.journal.load_snapshot() is not None)
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



async def test_the_child_runs_at_idle_priority_so_the_loop_never_waits_for_a_core() -> None:
    policy = await forked.fork(lambda: str(os.sched_getscheduler(0)).encode()).result()
    assert int(policy) == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the daemon itself keeps its own


def test_a_snapshot_keeps_every_ticket_and_writes_its_field_names_once() -> None:
    config: HallConfig = parse_config(SMALL_HALL)
    hall = Hall(config)
    hall.eta.enabled = False
    now = datetime(2026, 3, 2, 9, 0, tzinfo=config.hall.tz)
    for _ in range(50):
        hall.execute(parse_command({"action": "take_ticket", "service": "BDC"}), now)
    blob = snapshot_blob(hall.state)
    fmt, payload = blob.split(b"\n", 1)
    assert fmt.decode() == SNAPSHOT_FORMAT
    back = snapshot.loads(payload)
    assert back.tickets == hall.state.tickets and len(back.tickets) == 50
    assert payload.count(b"waiting_since") == 0  # a ticket is its fields, not a dict of names
    assert len(payload) < len(pickle.dumps(hall.state, protocol=5))


def test_a_snapshot_that_is_not_a_hall_state_is_refused() -> None:
    with pytest.raises(TypeError, match="HallState"):
        snapshot.loads(pickle.dumps({"tickets": {}}))
