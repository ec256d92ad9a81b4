"""The hall core's cost per command against the length of the line (issue 13).

    .venv/bin/python bench/eta_core.py                 # 10 / 10,000 / 100,000 waiting
    .venv/bin/python bench/eta_core.py --sizes 10 100000 --rounds 5000

For each size N the line is filled with N waiting tickets, then a steady round is timed: a
window calls the next citizen (which finishes the previous one), a new citizen takes a ticket
with its wait estimate (so the line stays at N), every 10 rounds the estimates of the retained
state (every service) and a mid-line ticket's own, and every 50 rounds a ``tick`` (the daemon
sends one every 5 s); rounds are 0.1 hall seconds apart. The sizes alternate in chunks and each
figure is the median over chunks; it also prints the forward runs made per 1,000 commands.
The baseline is the same round at the smallest size, in the same process: the ratio is what the
line's length costs (1.0 = independent of it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hallctl.config import parse_config  # noqa: E402
from hallctl.hall.commands import parse_command  # noqa: E402
from hallctl.hall.core import Hall  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
HALL = """
version: 1
hall: {id: bench, name: 基准大厅}
services:
  - {code: BDC, name: 不动产登记, prefix: A, digits: 5, daily_cap: 10000000, limit_wait_min: 600}
  - {code: SB, name: 社保, prefix: B, digits: 5, daily_cap: 10000000, limit_wait_min: 600}
windows:
"""
HALL += "".join(f"  - {{number: {n}, services: [BDC, SB]}}\n" for n in range(1, 11))


class Line:
    """A hall with ``size`` citizens waiting, and a steady round of commands timed on it."""

    def __init__(self, size: int) -> None:
        self.hall = Hall(parse_config(HALL))
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
        self.take = [parse_command({"action": "take_ticket", "service": s}) for s in ("BDC", "SB")]
        for n in range(1, 11):
            self.hall.execute(parse_command({"action": "open_window", "window": n}), self.now)
        self.hall.eta.enabled = False  # filling the line is not timed: no estimates
        for i in range(size):
            self.hall.execute(self.take[i % 2], self.now)
        self.hall.eta.enabled = True
        self.calls = [parse_command({"action": "call_next", "window": n}) for n in range(1, 11)]
        self.tick = parse_command({"action": "tick"})
        self.r = 0

    def time(self, rounds: int) -> dict[str, float]:
        """µs per command over ``rounds`` rounds (a tick every 50, an own estimate every 10)."""
        costs = dict.fromkeys(COMMANDS, 0.0)
        counts = dict.fromkeys(COMMANDS, 0)
        clock, hall = time.perf_counter, self.hall
        runs = hall.eta.runs
        commands = 0
        for _ in range(rounds):
            r = self.r = self.r + 1
            self.now += timedelta(seconds=0.1)
            t0 = clock()
            hall.execute(self.calls[r % 10], self.now)
            t1 = clock()
            hall.execute(self.take[r % 2], self.now)
            t2 = clock()
            costs["call_next"] += t1 - t0
            costs["take_ticket"] += t2 - t1
            counts["call_next"] += 1
            counts["take_ticket"] += 1
            commands += 2
            if r % 10 == 0:  # the retained state's estimates, and a mid-line ticket's own
                at = self.now.timestamp()
                t3 = clock()
                hall.eta.services_min(at + 0.001)  # a new instant: not the cached run
                t4 = clock()
                line = hall.state.lines["BDC"].queues["normal"]
                hall.eta.ticket_min(line[len(line) // 2][1], at)
                t5 = clock()
                costs["services_min"] += t4 - t3
                costs["ticket_eta"] += t5 - t4
                counts["services_min"] += 1
                counts["ticket_eta"] += 1
            if r % 50 == 0:
                t6 = clock()
                hall.execute(self.tick, self.now)
                costs["tick"] += clock() - t6
                counts["tick"] += 1
                commands += 1
        out = {k: 1e6 * costs[k] / counts[k] for k in costs}
        out["runs"] = 1000 * (hall.eta.runs - runs) / commands
        return out


COMMANDS = ("call_next", "take_ticket", "tick", "services_min", "ticket_eta")
# the forward runs made per 1,000 commands (the kept forecast, hall/eta_cache.py, saves the rest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 10_000, 100_000])
    ap.add_argument("--rounds", type=int, default=20_000, help="per size, over all chunks")
    ap.add_argument("--chunks", type=int, default=10, help="alternations between the sizes")
    args = ap.parse_args()
    lines = {size: Line(size) for size in args.sizes}
    samples: dict[int, list[dict[str, float]]] = {size: [] for size in args.sizes}
    for _ in range(args.chunks):  # sizes alternate, so a busy moment hits them all alike
        for size, line in lines.items():
            samples[size].append(line.time(args.rounds // args.chunks))
    medians = {
        size: {c: statistics.median(chunk[c] for chunk in runs) for c in (*COMMANDS, "runs")}
        for size, runs in samples.items()
    }
    base = medians[min(args.sizes)]
    print(f"{'waiting':>9} {'command':<13} {'µs (median)':>11} {'× smallest':>11}")
    for size, r in medians.items():
        for cmd, us in r.items():
            if cmd != "runs":
                print(f"{size:>9,} {cmd:<13} {us:>11.1f} {us / base[cmd]:>10.2f}×")
        print(f"{size:>9,} forward runs per 1,000 commands: {r['runs']:.1f}")


if __name__ == "__main__":
    main()
