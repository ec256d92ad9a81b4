"""A 20,000-ticket day through the engine: the event loop's longest stall, snapshots included.

    .venv/bin/python bench/bench_day.py                  # about 4-6 minutes on a shared machine
    .venv/bin/python bench/bench_day.py --tickets 5000   # quicker

Hall file: bench_engine.HALL (10 services with 5-digit numbers and no daily cap, 100 windows),
because config/example.yaml cannot issue 20,000 tickets (3-digit numbers, a cap of 300).

The day is compressed, not saturated: kiosks issue at --rate tickets/s and 100 windows call,
serve, finish and take an evaluation, so the engine writes about 5 events a ticket (100,000 in
the day: five snapshots at the engine's default of one per 20,000 events). The hall's clock
moves with the day's progress (--day-hours of hall time from the first ticket to the last), so
what the hall reckons over time (arrival rates over the last half hour, service times) sees a
day's spread and not 20,000 tickets within one minute. A loop-lag probe (bench/loop_probe.py) sleeps
1 ms again and again and records how late it wakes and the loop's own CPU and page faults in
that time. Baseline in the same run: the same probe on an idle loop before and after the day
(the machine's own noise: other processes, the scheduler).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import HALL  # noqa: E402
from loop_probe import LagProbe, PassTrace, idle  # noqa: E402

from hallctl import snapshot_process  # noqa: E402
from hallctl.config import parse_config  # noqa: E402
from hallctl.engine import HallEngine, snapshot_blob  # noqa: E402
from hallctl.journal import Journal  # noqa: E402
from hallctl.logging import configure_logging  # noqa: E402


class DayClock:
    """The hall's clock for a compressed day: it runs with the day's progress, not the wall.

    08:30 before the first ticket, 08:30 + `hours` when the last one is issued, each ticket
    moving it on by the same step; so the hall sees a day's spread (arrival rates over the
    last half hour, service times) however slowly a loaded machine runs the bench, and never
    rolls over into the next day.
    """

    def __init__(self, hours: float, tickets: int, tz: object) -> None:
        self.start = datetime.now(tz).replace(hour=8, minute=30)  # type: ignore[arg-type]
        self.step = timedelta(seconds=hours * 3600 / tickets)
        self.issued = 0

    def __call__(self) -> datetime:
        return self.start + self.issued * self.step


class Snapshots:
    """Counts the engine's snapshot processes and times each spawn (``subprocess.Popen``: a
    vfork and the child's exec, in a worker thread; the loop's side of it is the probe's)."""

    def __init__(self) -> None:
        self.count = 0
        self.spawn_ms: list[float] = []
        self._spawn = snapshot_process.spawn

    def __enter__(self) -> Snapshots:
        def timed(*args, **kw):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return self._spawn(*args, **kw)
            finally:
                self.spawn_ms.append((time.perf_counter() - t) * 1000)
                self.count += 1

        snapshot_process.spawn = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        snapshot_process.spawn = self._spawn  # type: ignore[assignment]


async def day(args: argparse.Namespace) -> tuple[LagProbe, Snapshots, float]:
    cfg = parse_config(HALL)
    tickets, rate = args.tickets, args.rate
    with (tempfile.TemporaryDirectory() as d, Journal(Path(d) / "j.db") as journal,
          Snapshots() as snaps):
        kw = {} if args.snapshot_every is None else {"snapshot_every": args.snapshot_every}
        if args.pass_budget is not None:
            kw["pass_budget"] = args.pass_budget / 1000
        clock = DayClock(args.day_hours, tickets, cfg.hall.tz)
        engine = HallEngine(cfg, journal, secret=b"x" * 32, clock=clock, **kw)  # type: ignore[arg-type]
        engine.recover()
        writer = asyncio.create_task(engine.run())
        for n in range(1, 101):
            await engine.execute({"action": "open_window", "window": n})
        probe = LagProbe(child_alive=lambda: engine.snapshots.busy)
        probing = asyncio.create_task(probe.run())
        untrace = None
        if args.trace:
            engine.hall.execute = args.trace.timed(engine.hall.execute, "core")  # type: ignore[method-assign]
            untrace = args.trace.install(asyncio.get_running_loop())
        issued = 0
        served = 0

        async def kiosk(k: int, kiosks: int) -> None:
            nonlocal issued
            rng = random.Random(k)
            while issued < tickets:
                issued += 1
                clock.issued = issued
                await engine.execute({"action": "take_ticket", "service": f"S{rng.randint(0, 9)}"})
                await asyncio.sleep(kiosks / rate * rng.uniform(0.5, 1.5))

        async def window(n: int) -> None:
            nonlocal served
            rng = random.Random(1000 + n)
            while served < tickets:
                r = await engine.execute({"action": "call_next", "window": n})
                if not r["ok"]:
                    if issued >= tickets:
                        return  # the kiosks are done and this window's lines are empty
                    await asyncio.sleep(0.05)
                    continue
                await engine.execute({"action": "start_service", "window": n})
                await asyncio.sleep(rng.uniform(0, 100 / rate))
                await engine.execute({"action": "finish", "window": n})
                await engine.execute({"action": "evaluate", "window": n, "level": 5})
                served += 1

        kiosks = 10
        await asyncio.gather(*(kiosk(k, kiosks) for k in range(kiosks)),
                             *(window(n) for n in range(1, 101)))
        await engine.drain()
        await engine.snapshots.wait()  # the last one finishes inside the probe
        probing.cancel()
        if untrace is not None:
            untrace()
        t0 = time.perf_counter()
        snapshot_blob(engine.hall.state)
        on_loop = time.perf_counter() - t0
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        return probe, snaps, on_loop


async def run(args: argparse.Namespace) -> None:
    before = await idle(args.idle / 2)
    t0 = time.perf_counter()
    probe, snaps, on_loop = await day(args)
    secs = time.perf_counter() - t0
    after = await idle(args.idle / 2)
    before.wakes += after.wakes
    base = before
    print(f"baseline, idle loop {args.idle:.0f} s (half before, half after): {base.summary()}")
    print(f"{args.tickets:,}-ticket day in {secs:.0f} s ({args.day_hours:g} h of hall time; "
          f"{snaps.count} snapshot processes, spawn median "
          f"{statistics.median(snaps.spawn_ms or [0]):.1f} ms, "
          f"at most {max(snaps.spawn_ms, default=0):.1f} ms, in a worker thread): "
          f"{probe.summary()}")
    print(f"longest stall {probe.longest_ms():.1f} ms (floor ≤ 5 ms; idle baseline "
          f"{base.longest_ms():.1f} ms); longest stall of the loop's own making "
          f"{probe.own_stall_ms():.1f} ms; p99 {probe.pct(99):.2f} ms (idle "
          f"{base.pct(99):.2f} ms)")
    print(f"of the loop's own making, no snapshot child alive {probe.own_stall_ms(False):.1f} ms; "
          f"with one alive "
          f"{probe.own_stall_ms(True):.1f} ms")
    print(f"for comparison, pickling the day's final state on the loop (what the process "
          f"spares it): "
          f"{on_loop * 1000:.0f} ms; the largest child's peak RSS "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")
    if args.trace:
        print(args.trace.report())
        args.trace = PassTrace()
    args.results.append((probe, base))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=100, help="tickets issued per second "
                    "(100: 20,000 in about 3.5 minutes; 500 gives the day in about a minute)")
    ap.add_argument("--day-hours", type=float, default=8,
                    help="hall time the whole day spans (its clock runs that much faster)")
    ap.add_argument("--idle", type=float, default=10, help="seconds of idle-loop baseline")
    ap.add_argument("--snapshot-every", type=int, default=None)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--pass-budget", type=float, default=None, metavar="MS",
                    help="the door's share of a loop pass (default: the engine's, "
                    "hallctl/pass_budget.py)")
    ap.add_argument("--trace", action="store_true", help="time every callback of every loop "
                    "pass and print what filled the passes with the most CPU (slows the loop "
                    "by about a microsecond a callback: the probe's figures run high)")
    args = ap.parse_args()
    args.trace = PassTrace() if args.trace else None
    configure_logging(level="warning")
    args.results = []
    for _ in range(args.runs):
        asyncio.run(run(args))
    if args.runs > 1:
        rs: list[tuple[LagProbe, LagProbe]] = args.results

        def med(values: list[float]) -> str:
            return (f"{statistics.median(values):.1f} ms "
                    f"({', '.join(f'{v:.1f}' for v in values)})")

        print(f"median of {args.runs} runs: longest stall {med([p.longest_ms() for p, _ in rs])}; "
              f"idle baseline {med([b.longest_ms() for _, b in rs])}; of the loop's own making "
              f"{med([p.own_stall_ms() for p, _ in rs])} (no child alive "
              f"{med([p.own_stall_ms(False) for p, _ in rs])}); p99 "
              f"{med([p.pct(99) for p, _ in rs])}")


if __name__ == "__main__":
    main()
