"""The wait estimate's forward runs on bench_day's 100-window hall, without an event loop.

    .venv/bin/python bench/eta_runs.py                       # 20,000 tickets, about 20 s
    .venv/bin/python bench/eta_runs.py --out new.json        # every estimate, for a diff

The day of bench/bench_day.py played on the hall core alone: 10 services, 100 windows (each
serving two), a ticket every 1.44 hall seconds over 8 hours, each window calling, serving 10-144
hall seconds and finishing; every 50 tickets a mid-line ticket's own estimate and the retained
state's. It prints how many forward runs the day made and what each cost (the thread's CPU
time), and the same for a baseline in the same process: the same day with the estimator's
service times worked out afresh for every run (what every run paid before they were kept,
hall/service_time_cache.py). Both days give the same numbers (checked: the run stops if not).
``--out`` writes every estimate of the day as JSON: two versions of the estimator give the same
file exactly when they give the same numbers.

Then the same day with the refreshes made a step at a time (hall/eta_steps.py), one step after
each command, as the daemon's edge makes one a loop pass: the CPU time of each step (the first
takes the run's inputs), steps per refresh, and runs still made in one go by a command.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import HALL  # noqa: E402

from hallctl.config import parse_config  # noqa: E402
from hallctl.hall.commands import parse_command  # noqa: E402
from hallctl.hall.core import Hall  # noqa: E402
from hallctl.hall.errors import HallError  # noqa: E402
from hallctl.hall.eta_cache import KeptForecast  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


def day(
    tickets: int, afresh: bool, stepped: list[float] | None = None
) -> tuple[list[Any], list[float]]:
    """Every estimate of the day, and each forward run's CPU time (ms) made in one go
    (``stepped``: refreshes made in steps, each step's CPU time appended there)."""
    hall = Hall(parse_config(HALL))
    est = hall.eta
    start = datetime(2026, 3, 2, 8, 30, tzinfo=TZ)
    step = 8 * 3600 / tickets
    costs: list[float] = []
    refreshed = est._refreshed

    def timed(kept: KeptForecast, at: float) -> KeptForecast:
        if kept.fresh(at):
            return kept
        if afresh:
            est.times.clear()
        runs, t0 = est.runs, time.thread_time()
        out = refreshed(kept, at)
        if est.runs != runs:  # not answered from a forecast whose refresh is being made
            costs.append((time.thread_time() - t0) * 1000)
        return out

    est._refreshed = timed  # type: ignore[method-assign]

    def run(command: dict[str, Any], at: float) -> dict[str, Any]:
        got = hall.execute(parse_command(command), start + timedelta(seconds=at)).result
        if stepped is not None:
            t0 = time.thread_time()
            est.refresh_step(start.timestamp() + at)
            stepped.append((time.thread_time() - t0) * 1000)
        return got

    for n in range(1, 101):
        run({"action": "open_window", "window": n}, 0)
    if stepped is not None:
        est.wake = lambda: None  # an edge that steps after every command (run() above)
    rng = random.Random(7)
    due: list[tuple[float, int, int]] = []  # (hall seconds, 0 ticket / 1 call / 2 finish, arg)
    for i in range(tickets):
        heapq.heappush(due, (i * step + rng.uniform(0, step), 0, i))
    for n in range(1, 101):
        heapq.heappush(due, (rng.uniform(0, 60), 1, n))
    out: list[Any] = []
    issued = 0
    while due:
        at, kind, arg = heapq.heappop(due)
        if kind == 0:
            out.append(run({"action": "take_ticket", "service": f"S{rng.randint(0, 9)}"}, at))
            issued += 1
            if issued % 50 == 0:
                line = hall.state.lines[f"S{rng.randint(0, 9)}"].queues["normal"]
                now = start.timestamp() + at
                if len(line):
                    out.append(est.ticket_min(line[len(line) // 2][1], now))
                out.append(est.services_min(now + 0.5))
        elif kind == 1:
            try:
                run({"action": "call_next", "window": arg}, at)
            except HallError:  # nobody waits for this window
                if issued < tickets:
                    heapq.heappush(due, (at + 36, 1, arg))
                continue
            run({"action": "start_service", "window": arg}, at + 1)
            heapq.heappush(due, (at + rng.uniform(10, 144), 2, arg))
        else:
            run({"action": "finish", "window": arg}, at)
            run({"action": "evaluate", "window": arg, "level": 5}, at)
            heapq.heappush(due, (at, 1, arg))
    return [r.get("est_wait_min") if isinstance(r, dict) else r for r in out], costs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--out", type=Path, help="write every estimate of the day here (JSON)")
    args = ap.parse_args()
    kept, costs = day(args.tickets, afresh=False)
    same, base = day(args.tickets, afresh=True)
    if same != kept:
        sys.exit("the two days gave different estimates")
    if args.out:
        args.out.write_text(json.dumps(kept))

    def show(ms: list[float]) -> str:
        q = statistics.quantiles(ms, n=100)
        return f"median {statistics.median(ms):.2f} ms, p90 {q[89]:.2f}, p99 {q[98]:.2f}"

    print(f"{args.tickets:,} tickets, {len(costs)} forward runs a day (one per 10 hall seconds)")
    print(f"baseline: service times afresh every run   {show(base)}")
    print(f"as shipped: service times kept between runs {show(costs)}; "
          f"median ratio {statistics.median(costs) / statistics.median(base):.2f}")
    steps: list[float] = []
    t0 = time.process_time()
    _, whole = day(args.tickets, afresh=False, stepped=steps)
    cpu = time.process_time() - t0
    worked = [ms for ms in steps if ms > 0.004]  # a step with nothing to do: a few µs
    longest = ", ".join(f"{ms:.2f}" for ms in sorted(worked)[-5:])
    print(f"refreshes in steps, one after each command: {len(whole)} runs made in one go by a "
          f"command; {len(worked)} steps with work: {show(worked)}, the 5 longest {longest} ms "
          f"(day's CPU {cpu:.1f} s)")


if __name__ == "__main__":
    main()
