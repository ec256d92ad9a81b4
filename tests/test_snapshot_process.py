"""Snapshots are made by a separate process that shares no memory with the daemon: it folds the
journal up to a seq exactly as a restart does, so its snapshot is the live state as of that seq.
It lives from the first snapshot to the daemon's stop and folds only the events since the last.
A snapshot process that fails, is killed or is still running at shutdown changes nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import pickle
import signal
import sqlite3
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
from hallctl.ids import new_id
from hallctl.journal import Journal, PendingEvent
from hallctl.journal_mark import mark_path
from hallctl.snapshot_process import SnapshotProcess
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
        with capture_logs() as logs:
            await live.snapshots._aside(live.last_seq())  # made by the process, saved by the engine
        (saved,) = [e for e in logs if e["event"] == "engine.snapshot"]
        assert (saved["seq"], saved["replayed"]) == (live.last_seq(), live.last_seq())
        async with Running(config, path) as restarted:  # a second engine on the same journal
            assert restarted.snapshots.since == 0  # nothing replayed: the snapshot alone
            assert no_estimates(restarted) == no_estimates(live)
            assert restarted.hall.state.tickets == live.hall.state.tickets
            assert restarted.hall.state.counters == live.hall.state.counters
            numbers = await next_numbers(restarted)
        assert numbers[1] > "B040" and numbers[2] == "H001"
        assert await next_numbers(live) == numbers  # what the live one gives too


async def test_a_process_that_fails_saves_nothing_and_says_why(
    config: HallConfig, tmp_path: Path
) -> None:
    not_a_journal = tmp_path / "notes.db"
    not_a_journal.write_text("not SQLite")
    with pytest.raises(
        snapshot_process.SnapshotFailed,
        match=r"^ended with 1: .*JournalError: cannot open journal .*not a database$",
    ) as failed:
        await SnapshotProcess(config, not_a_journal).make(5)
    assert "Traceback" in failed.value.detail  # the whole story, for the log
    assert not_a_journal.read_text() == "not SQLite"
    assert snapshot_children() == []  # reaped


async def test_a_killed_process_changes_nothing_is_logged_and_the_next_one_is_made(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db", snapshot_every=20) as engine:
        with capture_logs() as logs:
            for _ in range(20):
                await engine.execute({"action": "take_ticket", "service": "SB"})
            await eventually(snapshot_children)
            (pid,) = snapshot_children()
            os.kill(pid, signal.SIGKILL)
            await eventually(lambda: not engine.snapshots.busy)
        assert engine.journal.load_snapshot() is None
        skipped = [e for e in logs if e["event"] == "engine.snapshot_skipped"]
        assert len(skipped) == 1 and "ended with -9" in skipped[0]["reason"]
        assert (await engine.execute({"action": "take_ticket", "service": "SB"}))["ok"]
        for _ in range(19):  # the next snapshot is due
            await engine.execute({"action": "take_ticket", "service": "ZH"})
        await eventually(lambda: engine.journal.load_snapshot() is not None, within=30)
        snap = engine.journal.load_snapshot()
        assert snap is not None and engine.last_seq() - 20 < snap[0] <= engine.last_seq()


async def test_one_snapshot_process_at_a_time_each_at_idle_priority(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db", snapshot_every=1) as engine:
        most, policies = 0, set()
        with capture_logs() as logs:
            for i in range(100):  # a snapshot is due after every command
                await engine.execute({"action": "take_ticket", "service": ("SB", "ZH")[i % 2]})
                children = snapshot_children()
                most = max(most, len(children))
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                        policies.add(os.sched_getscheduler(pid))
                await asyncio.sleep(0.01)
            await eventually(lambda: not engine.snapshots.busy, within=30)
        made = [e for e in logs if e["event"] == "engine.snapshot"]
        assert most == 1 and 1 <= len(made) < 100
        assert os.SCHED_IDLE in policies  # it lowers itself first thing
        assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the daemon keeps its own


async def test_shutdown_during_a_snapshot_ends_it_and_saves_the_final_one(
    config: HallConfig, tmp_path: Path
) -> None:
    path = tmp_path / "j.db"
    async with Running(config, path, snapshot_every=20) as engine:
        await a_busy_morning(engine)
        await eventually(snapshot_children)
        # the daemon's order at stop (hallctl/daemon.py)
        await engine.drain()
        await engine.snapshot()
        assert snapshot_children() == []
        snap = engine.journal.load_snapshot()
        assert snap is not None and snap[0] == engine.last_seq()
        before = no_estimates(engine)
    async with Running(config, path) as restarted:
        assert restarted.snapshots.since == 0 and no_estimates(restarted) == before


async def test_a_snapshot_process_alive_when_the_writer_ends_is_killed_and_reaped(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db", snapshot_every=20) as engine:
        await a_busy_morning(engine)
        await eventually(snapshot_children)
    assert snapshot_children() == []
    assert not engine.snapshots.busy


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


async def test_code_installed_under_a_running_daemon_makes_no_snapshot(
    config: HallConfig, tmp_path: Path
) -> None:
    """An upgrade replaces the package while the old daemon runs: a child would run new code
    with the old daemon's config object. It refuses, and the journal keeps what it had."""
    async with Running(config, tmp_path / "j.db") as engine:
        await engine.execute({"action": "take_ticket", "service": "SB"})
        argv = snapshot_process.command(engine.journal.path)
        argv[-1] = "hallstate/4/0.0.9"  # what the older daemon would pass
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate(pickle.dumps(config))
        assert proc.returncode == 1
        assert b"the daemon runs hallstate/4/0.0.9, this code is hallstate/5/" in err
        assert engine.journal.load_snapshot() is None


async def test_the_process_only_reads_the_journal_and_leaves_the_mark_to_the_daemon(
    config: HallConfig, tmp_path: Path
) -> None:
    """Only the appender moves the mark: a check in the child would write the journal's end as
    the child read it, older than the daemon's mark if the daemon appended meanwhile."""
    async with Running(config, tmp_path / "j.db") as engine:
        for _ in range(3):
            await engine.execute({"action": "take_ticket", "service": "SB"})
        hwm = mark_path(engine.journal.path)
        assert int(hwm.read_text()) == engine.last_seq()
        hwm.write_text(f"{engine.last_seq() - 1:020d}\n")  # as if the daemon's write were due
        process = SnapshotProcess(config, engine.journal.path)
        made = await process.make(engine.last_seq())
        await process.close()
        assert int(hwm.read_text()) == engine.last_seq() - 1
        # it only reads: the daemon's own writer saves what it made
        assert made.blob.startswith(SNAPSHOT_FORMAT.encode() + b"\n")
        assert engine.journal.load_snapshot() is None


async def test_the_final_snapshot_waits_for_commands_in_flight_and_holds_each_once(
    config: HallConfig, tmp_path: Path
) -> None:
    """The final snapshot pickles memory: only when memory is what the journal holds, so a
    batch being written is in it exactly when its seq is (a restart replays it once)."""
    path = tmp_path / "j.db"
    async with Running(config, path) as engine:
        await engine.execute({"action": "take_ticket", "service": "SB"})
        engine.journal._write_lock.acquire()  # the disk is slow: the next append waits
        writing = [
            asyncio.ensure_future(engine.execute({"action": "take_ticket", "service": "SB"}))
            for _ in range(20)
        ]
        await eventually(lambda: engine._writing is not None)
        final = asyncio.ensure_future(engine.snapshot())  # memory is ahead of the journal now
        await asyncio.sleep(0.1)
        engine.journal._write_lock.release()
        await final
        await asyncio.gather(*writing)
        snap = engine.journal.load_snapshot()
        assert snap is not None
        before = no_estimates(engine)
    async with Running(config, path) as restarted:
        assert no_estimates(restarted) == before
        r = await restarted.execute({"action": "take_ticket", "service": "SB"})
        assert r["result"]["ticket"] == "B022"


def folded_from_scratch(config: HallConfig, journal: Journal, seq: int) -> Hall:
    """The journal's events up to ``seq`` applied to an empty hall: no snapshot involved."""
    hall = Hall(config)
    for rec in journal.replay():
        if rec.seq > seq:
            break
        hall.apply(rec.type, json.loads(rec.data), datetime.fromisoformat(rec.ts).timestamp())
    return hall


async def test_one_process_makes_every_snapshot_folding_only_the_events_since_the_last(
    config: HallConfig, tmp_path: Path
) -> None:
    """What makes a snapshot cost O(what changed): the process stays, keeps its hall, and each
    snapshot after its first replays only the events since the one before, yet each is the
    whole journal folded up to its seq."""
    async with Running(config, tmp_path / "j.db", snapshot_every=40) as engine:
        pids: set[int | None] = set()
        with capture_logs() as logs:
            for _ in range(3):
                await a_busy_morning(engine, clients=2)  # 60 commands: a snapshot is due
                await eventually(lambda: not engine.snapshots.busy, within=30)
                pids.add(engine.snapshots.process.pid)
                snap = engine.journal.load_snapshot()
                assert snap is not None
                seq, payload = snap[0], snap[1].split(b"\n", 1)[1]
                from_scratch = folded_from_scratch(config, engine.journal, seq)
                assert pickle.loads(payload).tickets == from_scratch.state.tickets
                assert retained_state(Hall(config, pickle.loads(payload))) == retained_state(
                    from_scratch
                )
        made = [e for e in logs if e["event"] == "engine.snapshot"]
        assert len(made) >= 3
        assert len(pids) == 1 and None not in pids  # the same process, still alive
        assert snapshot_children() == [engine.snapshots.process.pid]
        assert made[0]["replayed"] == made[0]["seq"]  # the first: a full fold (no snapshot yet)
        for before, after in itertools.pairwise(made):
            # the next ones: only the events since the one before
            assert after["replayed"] == after["seq"] - before["seq"] > 0
    assert snapshot_children() == []  # the writer's end ended it


async def test_a_process_that_died_between_snapshots_is_replaced_by_the_next_one(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db", snapshot_every=20) as engine:
        for _ in range(20):
            await engine.execute({"action": "take_ticket", "service": "SB"})
        await eventually(lambda: engine.journal.load_snapshot() is not None, within=30)
        await eventually(lambda: not engine.snapshots.busy)
        first, first_seq = engine.snapshots.process.pid, engine.last_seq()
        assert first is not None
        os.kill(first, signal.SIGKILL)  # the OOM killer, an operator
        with capture_logs() as logs:
            for _ in range(20):
                await engine.execute({"action": "take_ticket", "service": "ZH"})
            await eventually(
                lambda: (s := engine.journal.load_snapshot()) is not None and s[0] > first_seq,
                within=30,
            )
        assert engine.snapshots.process.pid not in (first, None)
        (ended,) = [e for e in logs if e["event"] == "engine.snapshot_process_ended"]
        assert "ended with -9" in ended["reason"]
        assert not [e for e in logs if e["event"] == "engine.snapshot_skipped"]  # none lost


def test_a_hole_in_the_journal_under_a_folded_hall_is_found_not_folded_over(
    config: HallConfig, tmp_path: Path
) -> None:
    """A hall folded up to a seq takes only the events right after it: events gone from the
    journal (pruned under it) make it fold afresh instead of skipping them silently."""
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        hall = Hall(config)
        now = datetime(2026, 3, 2, 9, 0, tzinfo=config.hall.tz)
        for _ in range(6):
            out = hall.execute(parse_command({"action": "take_ticket", "service": "SB"}), now)
            journal.append(
                [
                    PendingEvent(new_id(), t, now.isoformat(), "2026-03-02", None, 1, json.dumps(d))
                    for t, d in out.events
                ]
            )
        last = journal.last_seq()
        folded, _, _ = snapshot.fold(config, journal, upto=2)
        with pytest.raises(RuntimeError, match=f"ends at {last}, before {last + 5}"):
            snapshot.fold_onto(folded, journal, 2, last + 5)  # beyond the journal's end
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM events WHERE seq = 4")
        folded, _, _ = snapshot.fold(config, journal, upto=2)
        with pytest.raises(snapshot.Gap, match="seq 5 follows 3"):
            snapshot.fold_onto(folded, journal, 2, last)
