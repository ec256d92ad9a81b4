"""A 20,000-ticket day through the engine: the event loop's longest stall, snapshots included.

    .venv/bin/python bench/bench_day.py                  # about 1-2 minutes
    .venv/bin/python bench/bench_day.py --tickets 5000   # quicker

Hall file: bench_engine.HALL (10 services with 5-digit numbers and no daily cap, 100 windows),
because config/example.yaml cannot issue 20,000 tickets (3-digit numbers, a cap of 300).

The day is compressed, not saturated: kiosks issue at --rate tickets/s and 100 windows call,
serve, finish and take an evaluation, so the engine writes about 5 events a ticket (100,000 in
the day: five snapshots at the engine's default of one per 20,000 events). A loop-lag probe
sleeps 1 ms again and again and records how late it wakes: the longest lateness is the longest
stall any device on the loop would see. Baseline in the same run: the same probe on an idle
loop (the machine's own noise: other processes, the scheduler).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import HALL  # noqa: E402

from hallctl.config import parse_config  # noqa: E402
from hallctl.engine import HallEngine, snapshot_blob  # noqa: E402
from hallctl.journal import Journal  # noqa: E402
from hallctl.logging import configure_logging  # noqa: E402

PROBE_S = 0.001


class LagProbe:
    """How late a 1 ms sleep wakes, over and over, while it runs.

    Also the loop thread's CPU time during each sleep: lateness with little CPU is the
    machine taking the CPU away (2 cores shared by several jobs), lateness with as much CPU
    is this process's own work holding the loop.
    """

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.cpu: list[float] = []

    async def run(self) -> None:
        while True:
            t, c = time.perf_counter(), time.thread_time()
            await asyncio.sleep(PROBE_S)
            self.lags.append(time.perf_counter() - t - PROBE_S)
            self.cpu.append(time.thread_time() - c)

    def summary(self) -> str:
        ms = sorted(x * 1000 for x in self.lags)
        over = sum(1 for x in ms if x > 5)
        return (f"max {ms[-1]:.1f} ms, p99.9 {ms[int(len(ms) * 0.999)]:.2f} ms, "
                f"p99 {ms[int(len(ms) * 0.99)]:.2f} ms, {over} of {len(ms)} wakes > 5 ms late; "
                f"longest CPU-held sleep {self.longest_cpu_ms():.1f} ms")

    def longest_ms(self) -> float:
        return max(self.lags) * 1000

    def longest_cpu_ms(self) -> float:
        """The most CPU the loop thread spent inside one 1 ms sleep (its own work), less 1 ms."""
        return max(0.0, max(self.cpu) - PROBE_S) * 1000


async def idle(seconds: float) -> LagProbe:
    probe = LagProbe()
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(seconds)
    task.cancel()
    return probe


async def day(tickets: int, rate: float, snapshot_every: int | None) -> tuple[LagProbe, int, float]:
    cfg = parse_config(HALL)
    with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "j.db") as journal:
        kw = {} if snapshot_every is None else {"snapshot_every": snapshot_every}
        engine = HallEngine(cfg, journal, secret=b"x" * 32, **kw)  # type: ignore[arg-type]
        engine.recover()
        snapshots = 0
        take_snapshot = engine.snapshot

        async def counted() -> None:
            nonlocal snapshots
            snapshots += 1
            await take_snapshot()

        engine.snapshot = counted  # type: ignore[method-assign]
        writer = asyncio.create_task(engine.run())
        for n in range(1, 101):
            await engine.execute({"action": "open_window", "window": n})
        probe = LagProbe()
        probing = asyncio.create_task(probe.run())
        issued = 0
        served = 0

        async def kiosk(k: int, kiosks: int) -> None:
            nonlocal issued
            rng = random.Random(k)
            while issued < tickets:
                issued += 1
                await engine.execute({"action": "take_ticket", "service": f"S{rng.randint(0, 9)}"})
                await asyncio.sleep(kiosks / rate * rng.uniform(0.5, 1.5))

        async def window(n: int) -> None:
            nonlocal served
            rng = random.Random(1000 + n)
            while served < tickets:
                r = await engine.execute({"action": "call_next", "window": n})
                if not r["ok"]:
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
        if engine._snapshotting is not None:  # the last one finishes inside the probe
            await asyncio.wait([engine._snapshotting])
        probing.cancel()
        t0 = time.perf_counter()
        snapshot_blob(engine.hall.state)
        on_loop = time.perf_counter() - t0
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        return probe, snapshots, on_loop


async def run(args: argparse.Namespace) -> None:
    base = await idle(args.idle)
    print(f"baseline, idle loop for {args.idle:.0f} s: {base.summary()}")
    t0 = time.perf_counter()
    probe, snapshots, on_loop = await day(args.tickets, args.rate, args.snapshot_every)
    secs = time.perf_counter() - t0
    print(f"{args.tickets:,}-ticket day in {secs:.0f} s ({snapshots} snapshots): {probe.summary()}")
    print(f"longest stall {probe.longest_ms():.1f} ms (floor ≤ 5 ms; idle baseline "
          f"{base.longest_ms():.1f} ms); longest on the loop's own CPU "
          f"{probe.longest_cpu_ms():.1f} ms")
    print(f"for comparison, pickling the day's final state on the loop (before the fork): "
          f"{on_loop * 1000:.0f} ms")
    args.results.append(
        (probe.longest_ms(), base.longest_ms(), on_loop * 1000, probe.longest_cpu_ms())
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=500, help="tickets issued per second")
    ap.add_argument("--idle", type=float, default=10, help="seconds of idle-loop baseline")
    ap.add_argument("--snapshot-every", type=int, default=None)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    configure_logging(level="warning")
    args.results = []
    for _ in range(args.runs):
        asyncio.run(run(args))
    if args.runs > 1:
        stalls = [r[0] for r in args.results]
        print(f"median of {args.runs} runs: longest stall {statistics.median(stalls):.1f} ms "
              f"(runs: {', '.join(f'{s:.1f}' for s in stalls)}); idle baseline "
              f"{statistics.median(r[1] for r in args.results):.1f} ms; loop's own CPU "
              f"{statistics.median(r[3] for r in args.results):.1f} ms")


if __name__ == "__main__":
    main()
