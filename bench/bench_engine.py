"""Hall core + durable journal: commands/s, restart time with 1,000,000 events, daemon memory.

    .venv/bin/python bench/bench_engine.py            # all three (about 1-2 minutes)
    .venv/bin/python bench/bench_engine.py --events 200000 --seconds 3   # quicker

Baselines measured in the same run, because machines are noisy:
- the disk's fsync (4 KiB written and fsynced, median), before and after the rounds: with a
  quick disk the loops are CPU-bound and the ratio below is about CPU, with a slow one about
  the disk;
- one fsync per command (bare journal append of batch size 1): what group commit buys;
- the pure core alone (no journal): the ceiling;
- a bare asyncio group-commit loop making the same commits (the same events, encoded in
  advance, same journal, same clients): what the engine's own per-command work costs.
  Bare loop and engine rounds alternate, several of each; medians are reported, with the CPU
  time (all threads) each spends a command, which the machine's load disturbs less.
The engine is measured as shipped and with the core's wait forecast off (``--estimates``):
the forecast runs on every ticket issued and, on this 100-window hall, costs milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hallctl.config import load_config, parse_config  # noqa: E402
from hallctl.control import ControlError, control_request_sync  # noqa: E402
from hallctl.engine import HallEngine, snapshot_blob  # noqa: E402
from hallctl.hall.commands import parse_command  # noqa: E402
from hallctl.hall.core import Hall  # noqa: E402
from hallctl.ids import new_id  # noqa: E402
from hallctl.journal import EncodedEvent, Journal, PendingEvent  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
HALL = (
    """
version: 1
hall: {id: bench, name: 基准大厅}
services:
"""
    + "".join(
        f"  - {{code: S{i}, name: 业务{i}, prefix: {chr(65 + i)}, digits: 5}}\n" for i in range(10)
    )
    + "windows:\n"
    + "".join(
        f"  - {{number: {n}, services: [S{n % 10}, S{(n + 3) % 10}]}}\n" for n in range(1, 101)
    )
)


def mix(rng: random.Random) -> dict[str, object]:
    """A realistic mix: issue, call, finish, sometimes recall or evaluate."""
    r = rng.random()
    w = rng.randint(1, 100)
    if r < 0.45:
        return {"action": "take_ticket", "service": f"S{rng.randint(0, 9)}"}
    if r < 0.85:
        return {"action": "call_next", "window": w}
    if r < 0.93:
        return {"action": "recall", "window": w}
    return {"action": "evaluate", "window": w, "level": rng.randint(3, 5)}


Rate = collections.namedtuple("Rate", "per_s cpu_us")  # commands/s; CPU µs a command


def cpu_rate(count: int, seconds: float, cpu_seconds: float) -> Rate:
    return Rate(count / seconds, cpu_seconds / max(count, 1) * 1e6)


def fsync_ms(samples: int = 200) -> float:
    """Median wall time of writing 4 KiB and fsyncing it, in the directory journals use."""
    times = []
    with tempfile.TemporaryDirectory() as d:
        fd = os.open(Path(d) / "f", os.O_WRONLY | os.O_CREAT)
        try:
            for i in range(samples):
                os.pwrite(fd, os.urandom(4096), (i % 16) * 4096)
                t0 = time.perf_counter()
                os.fsync(fd)
                times.append(time.perf_counter() - t0)
        finally:
            os.close(fd)
    return statistics.median(times) * 1000


async def commands_per_second(
    seconds: float, clients: int, *, estimates: bool = True, one_client: bool = True
) -> tuple[Rate, float]:
    """Commands with ``clients`` at once, and commands/s of one client (0.0 unless
    ``one_client``).

    ``estimates=False`` turns the core's wait forecast off (as simulations may): a ticket then
    says 0 minutes, and what is left is the engine's own cost plus the rest of the core."""
    cfg = parse_config(HALL)
    with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "j.db") as journal:
        engine = HallEngine(cfg, journal, secret=b"x" * 32)
        engine.recover()
        engine.hall.eta.enabled = estimates
        writer = asyncio.create_task(engine.run())
        for n in range(1, 101):
            await engine.execute({"action": "open_window", "window": n})
        # requests made in advance, as the bare loop's commits are: only the engine is timed
        made = {seed: requests(seed, 2_000) for seed in [*range(clients), 999]}
        done = 0
        stop_at = time.perf_counter() + seconds

        async def client(seed: int) -> None:
            nonlocal done
            mine = made[seed]
            i = 0
            while time.perf_counter() < stop_at:
                await engine.execute(mine[i % len(mine)])
                i += 1
                done += 1

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client(i) for i in range(clients)))
        concurrent = cpu_rate(done, time.perf_counter() - t0, time.process_time() - c0)
        if not one_client:
            writer.cancel()
            return concurrent, 0.0
        # one client, one command at a time: every command waits for its own fsync
        done = 0
        stop_at = time.perf_counter() + min(seconds, 3)
        t0 = time.perf_counter()
        await client(999)
        sequential = done / (time.perf_counter() - t0)
        writer.cancel()
    return concurrent, sequential


def requests(seed: int, count: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [mix(rng) for _ in range(count)]


def recorded_commits(count: int) -> list[list[EncodedEvent]]:
    """The events of ``count`` commands of the mix, as the engine would commit them (the wait
    forecast off, to record them quickly: a ticket's estimate is a number either way)."""
    hall = Hall(parse_config(HALL))
    hall.eta.enabled = False
    now = datetime.now(TZ)
    for n in range(1, 101):
        hall.execute(parse_command({"action": "open_window", "window": n}), now)
    rng = random.Random(0)
    ts = now.isoformat(timespec="milliseconds")
    commits = []
    for _ in range(count):
        try:
            events = hall.execute(parse_command(mix(rng)), now).events
        except Exception as e:  # refused: nothing to commit (the engine answers without one)
            events = getattr(e, "events", [])
        commits.append(
            [EncodedEvent.encode(new_id(), t, ts, hall.state.day, None, 1, d) for t, d in events]
        )
    return commits


async def bare_group_commit(
    seconds: float, clients: int, commits: list[list[EncodedEvent]]
) -> Rate:
    """The strongest baseline: clients hand ready-made events to one writer, which appends
    whatever has gathered in one transaction (asyncio.to_thread, like the engine) and wakes
    them, each through a plain future of its own (the cheapest wait that a cancelled client
    cannot break for the others). No parsing, no core, no JSON, no ids: only the commit
    mechanics."""
    with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "j.db") as journal:
        loop = asyncio.get_running_loop()
        pending: list[EncodedEvent] = []
        waiters: list[asyncio.Future[None]] = []
        wake = asyncio.Event()

        async def writer() -> None:
            nonlocal pending, waiters
            while True:
                await wake.wait()
                wake.clear()
                batch, woken = pending, waiters
                pending, waiters = [], []
                await asyncio.to_thread(journal.append, batch)
                for fut in woken:
                    fut.set_result(None)

        task = asyncio.create_task(writer())
        count = 0
        stop_at = time.perf_counter() + seconds

        async def client(start: int) -> None:
            nonlocal count
            i = start
            while time.perf_counter() < stop_at:
                events = commits[i % len(commits)]
                i += clients
                if events:
                    # fresh ids: the journal's ids are unique
                    pending.extend(e.__class__(new_id(), *astuple_rest(e)) for e in events)
                    wake.set()
                    fut = loop.create_future()
                    waiters.append(fut)
                    await fut
                count += 1

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client(i) for i in range(clients)))
        rate = cpu_rate(count, time.perf_counter() - t0, time.process_time() - c0)
        task.cancel()
        return rate


def astuple_rest(e: EncodedEvent) -> tuple[str, str, str, str | None, int, str]:
    return (e.type, e.ts, e.day, e.request_id, e.v, e.data)


def fsync_per_command_baseline(seconds: float) -> float:
    with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "j.db") as journal:
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            journal.append([PendingEvent(new_id(), "x", "t", "2026-11-25", None, 1, "{}")])
            n += 1
        return n / (time.perf_counter() - t0)


def pure_core_rate(count: int, estimates: bool = True) -> float:
    hall = Hall(parse_config(HALL))
    hall.eta.enabled = estimates
    now = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
    for n in range(1, 101):
        hall.execute(parse_command({"action": "open_window", "window": n}), now)
    rng = random.Random(1)
    cmds = [parse_command(mix(rng)) for _ in range(count)]
    t0 = time.perf_counter()
    for cmd in cmds:
        with contextlib.suppress(Exception):  # refused commands cost time too
            hall.execute(cmd, now)
    return count / (time.perf_counter() - t0)


def build_journal(path: Path, events: int) -> int:
    """Many days of a busy hall through the real core, written in large batches + snapshot."""
    cfg = parse_config(HALL)
    hall = Hall(cfg)
    # The wait forecast off: a ticket's estimate is a number either way, and with time moving
    # 2 s a command the kept forecast (10 hall seconds) is made anew every few commands, which
    # took the build past ten minutes. A restart folds events; it runs no forecast.
    hall.eta.enabled = False
    rng = random.Random(2)
    now = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)
    written = 0
    snapped = False
    # the engine snapshots every 20,000 events: a restart replays up to that many after it
    snap_at = max(0, events - 19_000)
    batch: list[PendingEvent] = []
    with Journal(path) as journal:
        while written + len(batch) < events:
            now += timedelta(seconds=2)
            if now.hour >= 18:
                now = (now + timedelta(days=1)).replace(hour=8, minute=0)
            req = (
                mix(rng)
                if rng.random() > 0.01
                else {"action": "open_window", "window": rng.randint(1, 100)}
            )
            try:
                out = hall.execute(parse_command(req), now)
            except Exception as e:  # refused commands change nothing
                out_events = getattr(e, "events", [])
            else:
                out_events = out.events
            ts = now.isoformat(timespec="milliseconds")
            for type_, data in out_events:
                batch.append(
                    PendingEvent(
                        new_id(),
                        type_,
                        ts,
                        hall.state.day,
                        None,
                        1,
                        json.dumps(data, ensure_ascii=False),
                    )
                )
            if len(batch) >= 1_000:
                written += len(journal.append(batch))
                batch = []
                if not snapped and written >= snap_at:
                    journal.save_snapshot(journal.last_seq(), snapshot_blob(hall.state))
                    snapped = True
        if batch:
            written += len(journal.append(batch))
    return written


def restart_seconds(path: Path, with_snapshot: bool) -> tuple[float, int]:
    cfg = parse_config(HALL)
    t0 = time.perf_counter()
    with Journal(path) as journal:
        engine = HallEngine(cfg, journal)
        if not with_snapshot:
            journal.load_snapshot = lambda: None  # type: ignore[method-assign]
        replayed = engine.recover()
    return time.perf_counter() - t0, replayed


def daemon_ready_seconds(data_dir: Path) -> float:
    """`hallctl run` as a process: start to answering on its control socket."""
    hall = data_dir.parent / "hall.yaml"
    hall.write_text(HALL + f"data_dir: {data_dir}\n", encoding="utf-8")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hallctl.cli", "run", "-c", str(hall)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if control_request_sync(data_dir / "control.sock", {"action": "status"}, 2)["ok"]:
                    return time.perf_counter() - t0
            except ControlError:
                time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait()


def busy_example_hall(text: str, data_dir: str) -> str:
    """config/example.yaml able to issue a 20,000-ticket day: 4-digit numbers, no daily caps,
    no opening hours (the bench issues around the clock); everything else as shipped."""
    text = text.replace("data_dir: ../var/example", f"data_dir: {data_dir}")
    out = []
    for ln in text.splitlines():
        if "hours:" in ln or "daily_cap:" in ln:
            continue
        out.append(ln)
        if ln.strip().startswith("prefix:"):
            out.append(ln[: len(ln) - len(ln.lstrip())] + "digits: 4")
    return "\n".join(out) + "\n"


def daemon_rss_mb(tickets: int, served: bool = False) -> tuple[float, float]:
    """Resident memory of `hallctl run` on the busy example hall: ready, and after ``tickets``
    (``served``: every window open, and every ticket then called, served and finished)."""
    with tempfile.TemporaryDirectory() as d:
        cfg = load_config(ROOT / "config" / "example.yaml")
        hall = Path(d) / "hall.yaml"
        text = (ROOT / "config" / "example.yaml").read_text(encoding="utf-8")
        hall.write_text(busy_example_hall(text, f"{d}/data"), encoding="utf-8")
        env = dict(os.environ, HALLCTL_MQTT_URL="mqtt://127.0.0.1:9")  # no broker: keeps retrying
        env.update(json.loads(os.environ.get("BENCH_ENV", "{}")))
        proc = subprocess.Popen(
            [sys.executable, "-m", "hallctl.cli", "run", "-c", str(hall)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        sock = Path(d) / "data" / "control.sock"

        def rss() -> float:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            kb = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
            )
            return kb / 1024

        try:
            while True:
                try:
                    control_request_sync(sock, {"action": "status"}, 2)
                    break
                except ControlError:
                    time.sleep(0.05)
            ready = rss()
            codes = [s.code for s in cfg.services]

            def issue(start: int) -> None:
                for i in range(start, tickets, 8):
                    r = control_request_sync(
                        sock, {"action": "take_ticket", "service": codes[i % len(codes)]}, 30
                    )
                    assert r["ok"], r

            def request(**fields: object) -> dict[str, Any]:
                return control_request_sync(sock, fields, 30)

            windows = [w.number for w in cfg.windows] if served else []
            for w in windows:
                assert request(action="open_window", window=w)["ok"]
            with ThreadPoolExecutor(8) as pool:  # 8 clients at once: group commit helps
                list(pool.map(issue, range(8)))

            def serve(window: int) -> None:
                while request(action="call_next", window=window)["ok"]:
                    assert request(action="start_service", window=window)["ok"]
                    assert request(action="finish", window=window)["ok"]

            with ThreadPoolExecutor(len(windows) or 1) as pool:
                list(pool.map(serve, windows))
            time.sleep(1)  # a snapshot may be under way in a child
            return ready, rss()
        finally:
            proc.terminate()
            proc.wait()


PARTS = ("parse", "core", "events", "journal")


async def engine_parts(seconds: float, clients: int) -> tuple[dict[str, float], float]:
    """CPU µs a command in each part of the running engine (50 clients, forecast on): thread
    time around the request parse, the core (``Hall.execute``), the events' ids, JSON and
    batch (``_join``), and the journal append in the writer thread, each less its timer's
    own reading (calibrated on a call of nothing); "timers" is what the timing itself cost
    (a thread clock read is a system call); "the rest" is what the process spent besides
    (coroutines, futures, the loop, snapshots, gc). Timed from outside, on the engine as
    shipped."""
    import hallctl.engine as engine_module

    spent = dict.fromkeys((*PARTS, "timer"), 0)
    calls = dict.fromkeys(spent, 0)
    clock = time.thread_time_ns

    def timed(fn: Any, part: str) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            calls[part] += 1
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += clock() - t0

        return run

    inside, whole = timer_cost(timed, spent, calls)

    patched = [
        (engine_module, "parse_command"),
        (HallEngine, "_join"),
        (Journal, "append"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name in patched]
    engine_module.parse_command = timed(engine_module.parse_command, "parse")  # type: ignore[attr-defined]
    HallEngine._join = timed(HallEngine._join, "events")  # type: ignore[method-assign]
    Journal.append = timed(Journal.append, "journal")  # type: ignore[method-assign]
    try:
        cfg = parse_config(HALL)
        with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "j.db") as journal:
            engine = HallEngine(cfg, journal, secret=b"x" * 32)
            engine.recover()
            engine.hall.execute = timed(engine.hall.execute, "core")  # type: ignore[method-assign]
            writer = asyncio.create_task(engine.run())
            for n in range(1, 101):
                await engine.execute({"action": "open_window", "window": n})
            made = {seed: requests(seed, 2_000) for seed in range(clients)}
            done = 0
            stop_at = time.perf_counter() + seconds

            async def client(seed: int) -> None:
                nonlocal done
                mine, i = made[seed], 0
                while time.perf_counter() < stop_at:
                    await engine.execute(mine[i % len(mine)])
                    i += 1
                    done += 1

            for part in spent:
                spent[part] = calls[part] = 0
            c0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(clients)))
            cpu, wall = time.process_time() - c0, time.perf_counter() - t0
            writer.cancel()
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    # Each part less what its timer read around nothing; the timers' whole cost (the clock is
    # a system call, 0.5-0.6 µs) is shown apart, so "the rest" is the engine's own.
    parts = {
        part: (spent[part] - calls[part] * inside) / done / 1000 for part in PARTS
    }
    parts["timers"] = sum(calls[part] for part in PARTS) * whole / done / 1000
    parts["rest"] = cpu / done * 1e6 - sum(parts.values())
    parts["total"] = cpu / done * 1e6
    return parts, done / wall


async def bare_parts(
    seconds: float, clients: int, commits: list[list[EncodedEvent]]
) -> dict[str, float]:
    """The bare loop's CPU µs a command, split as ``engine_parts`` splits the engine's: its
    journal append (timed the same way) and the rest (its ids, event tuples, futures, the
    loop), to set the engine's "rest" against."""
    spent = dict.fromkeys(("journal", "timer"), 0)
    calls = dict.fromkeys(spent, 0)
    clock = time.thread_time_ns
    append = Journal.append

    def timed_append(*args: Any, **kwargs: Any) -> Any:
        calls["journal"] += 1
        t0 = clock()
        try:
            return append(*args, **kwargs)
        finally:
            spent["journal"] += clock() - t0

    def timed(fn: Any, part: str) -> Any:
        def run() -> Any:
            t0 = clock()
            try:
                return fn()
            finally:
                spent[part] += clock() - t0

        return run

    inside, whole = timer_cost(timed, spent, calls)
    Journal.append = timed_append  # type: ignore[method-assign]
    try:
        spent["journal"] = calls["journal"] = 0
        rate = await bare_group_commit(seconds, clients, commits)
    finally:
        Journal.append = append  # type: ignore[method-assign]
    done = rate.per_s * seconds  # as counted by bare_group_commit, over its own wall time
    journal = (spent["journal"] - calls["journal"] * inside) / done / 1000
    timers = calls["journal"] * whole / done / 1000
    return {
        "journal": journal,
        "timers": timers,
        "rest": rate.cpu_us - journal - timers,
        "total": rate.cpu_us,
    }


def timer_cost(
    timed: Any, spent: dict[str, int], calls: dict[str, int], n: int = 50_000
) -> tuple[float, float]:
    """ns a timed call adds: what its timer reads around a call of nothing (inside a part's
    figure), and all it costs (the wrapper and both clock reads), best of 5."""
    def nothing() -> None:
        return None

    wrapped = timed(nothing, "timer")
    clock = time.thread_time_ns
    best_inside = best_whole = float("inf")
    for _ in range(5):
        spent["timer"] = calls["timer"] = 0
        t0 = clock()
        for _ in range(n):
            nothing()
        bare = clock() - t0
        t0 = clock()
        for _ in range(n):
            wrapped()
        best_whole = min(best_whole, (clock() - t0 - bare) / n)
        best_inside = min(best_inside, spent["timer"] / n)
    return best_inside, best_whole


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3, help="engine and baseline rounds, alternated")
    ap.add_argument("--only-commands", action="store_true", help="commands/s only")
    ap.add_argument("--estimates", action=argparse.BooleanOptionalAction, default=True,
                    help="also rounds of the engine with the core's wait forecast off")
    ap.add_argument("--only-memory", action="store_true", help="daemon memory only")
    ap.add_argument(
        "--dir",
        help="where the journals are made (default: the temp dir); /dev/shm, where fsync costs "
        "nothing, gives the CPU-bound limit",
    )
    ap.add_argument("--tickets", type=int, default=20_000, help="tickets before reading RSS")
    ap.add_argument(
        "--parts",
        action="store_true",
        help="only where the engine's CPU goes a command (parse, core, events, journal, the "
        "rest), best of --rounds rounds of --seconds",
    )
    args = ap.parse_args()
    if args.dir:
        tempfile.tempdir = args.dir  # every journal and fsync probe below is made there

    if args.parts:
        commits = recorded_commits(20_000)
        runs, bare_runs = [], []
        for _ in range(args.rounds):  # alternated, as the rounds below
            bare_runs.append(asyncio.run(bare_parts(args.seconds, args.clients, commits)))
            runs.append(asyncio.run(engine_parts(args.seconds, args.clients)))
        parts, rate = min(runs, key=lambda run: run[0]["total"])
        print("CPU µs a command, best of", args.rounds, "rounds: "
              + ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
              + f"  ({rate:,.0f} commands/s with the timers)")
        bare = min(bare_runs, key=lambda run: run["total"])
        print("the bare loop, the same way: "
              + ", ".join(f"{k} {v:.1f}" for k, v in bare.items()))
        return
    if args.only_memory:
        ready, after = daemon_rss_mb(args.tickets)
        print(f"`hallctl run` resident: ready {ready:.1f} MB, after {args.tickets:,} tickets "
              f"{after:.1f} MB (floor 60 MB)")
        return
    print("== hall core + durable journal (floor: 2,000 commands/s)")
    disk_before = fsync_ms()
    print(f"this disk: one fsync of 4 KiB {disk_before:.2f} ms (median)")
    base = fsync_per_command_baseline(2.0)
    print(f"baseline, one fsync per command (bare journal): {base:,.0f}/s")
    print(f"pure core, no journal (ceiling): {pure_core_rate(50_000, False):,.0f} commands/s "
          f"without the wait forecast, {pure_core_rate(2_000):,.0f} with it")
    commits = recorded_commits(20_000)
    rounds: dict[str, list[Rate]] = {"bare": [], "engine": [], "no forecast": []}
    sequential_rates = []
    for _ in range(args.rounds):  # alternated: the machine's noise hits both alike
        rounds["bare"].append(asyncio.run(bare_group_commit(args.seconds, args.clients, commits)))
        concurrent, sequential = asyncio.run(commands_per_second(args.seconds, args.clients))
        rounds["engine"].append(concurrent)
        sequential_rates.append(sequential)
        if args.estimates:
            no_forecast, _ = asyncio.run(
                commands_per_second(args.seconds, args.clients, estimates=False, one_client=False)
            )
            rounds["no forecast"].append(no_forecast)
    disk_after = fsync_ms()
    med = {k: Rate(statistics.median(r.per_s for r in v), statistics.median(r.cpu_us for r in v))
           for k, v in rounds.items() if v}
    bare = med["bare"]

    def line(label: str, key: str) -> str:
        m = med[key]
        each = ", ".join(f"{r.per_s:,.0f}" for r in rounds[key])
        ratio = "" if key == "bare" else f" = {m.per_s / bare.per_s:.0%} of the bare loop"
        return (f"{label}: {m.per_s:,.0f} commands/s{ratio}, CPU {m.cpu_us:.0f} µs a command  "
                f"(rounds: {each})")

    print(line(f"baseline, bare asyncio group commit, same commits, {args.clients} clients",
               "bare"))
    print(line(f"engine, {args.clients} concurrent clients (group commit) (floor 60 %)", "engine"))
    if args.estimates:
        print(line("engine, the core's wait forecast off", "no forecast"))
    print(f"engine, 1 client waiting for each answer: "
          f"{statistics.median(sequential_rates):,.0f} commands/s")
    # Group commit: one fsync a batch of about `clients` commands. Set against the CPU the bare
    # loop spends a command, that says which of disk and CPU bounds the rates above.
    disk_us = max(disk_before, disk_after) * 1000 / args.clients
    bound = "CPU-bound (a quick disk)" if disk_us < bare.cpu_us / 2 else "disk-bound (a slow disk)"
    print(
        f"fsync {disk_before:.2f} ms before the rounds, {disk_after:.2f} ms after: "
        f"{disk_us:.0f} µs a command in batches of {args.clients}, against the bare loop's CPU "
        f"{bare.cpu_us:.0f} µs a command: {bound}"
    )
    if args.only_commands:
        return

    print(f"\n== restart with {args.events:,} journaled events (floor: ready in 2 s)")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "data" / "journal.db"
        t0 = time.perf_counter()
        n = build_journal(path, args.events)
        print(f"built {n:,} events of a busy hall in {time.perf_counter() - t0:.1f} s")
        secs, replayed = restart_seconds(path, with_snapshot=True)
        print(f"recover from snapshot + tail: {secs:.3f} s (replayed {replayed:,} events)")
        ready = daemon_ready_seconds(path.parent)
        print(f"`hallctl run` start → answering on its socket: {ready:.2f} s")
        secs, replayed = restart_seconds(path, with_snapshot=False)
        print(f"for comparison, full replay without snapshot: {secs:.1f} s ({replayed:,} events)")

    print(f"\n== memory of `hallctl run` on config/example.yaml, 4-digit numbers and no caps "
          f"(floor: 60 MB after {args.tickets:,} tickets)")
    ready, after = daemon_rss_mb(args.tickets)
    print(f"resident when ready: {ready:.1f} MB; after {args.tickets:,} tickets: {after:.1f} MB")
    print(
        f"(this bench process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )


if __name__ == "__main__":
    main()
