"""The hall core's cost per command against the length of the line (issue 13).

    .venv/bin/python bench/eta_core.py                 # 10 / 10,000 / 100,000 waiting
    .venv/bin/python bench/eta_core.py --sizes 10 100000 --rounds 5000

For each size N the line is filled with N waiting tickets, then a steady round is timed: a
window calls the next citizen (which finishes the previous one), a new citizen takes a ticket
(so the line stays at N), and every 50 rounds a ``tick`` (the daemon sends one every 5 s). The
baseline is the same round at the smallest size, in the same process: the ratio is what the
line's length costs (1.0 = independent of it).
"""

from __future__ import annotations

import argparse
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


def run(size: int, rounds: int) -> dict[str, float]:
    hall = Hall(parse_config(HALL))
    now = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    take = [parse_command({"action": "take_ticket", "service": s}) for s in ("BDC", "SB")]
    for n in range(1, 11):
        hall.execute(parse_command({"action": "open_window", "window": n}), now)
    for i in range(size):
        hall.execute(take[i % 2], now)
    calls = [parse_command({"action": "call_next", "window": n}) for n in range(1, 11)]
    tick = parse_command({"action": "tick"})
    costs: dict[str, float] = {"call_next": 0.0, "take_ticket": 0.0, "tick": 0.0}
    counts = {"call_next": 0, "take_ticket": 0, "tick": 0}
    clock = time.perf_counter
    for r in range(rounds):
        now += timedelta(seconds=0.1)
        t0 = clock()
        hall.execute(calls[r % 10], now)
        t1 = clock()
        hall.execute(take[r % 2], now)
        t2 = clock()
        costs["call_next"] += t1 - t0
        costs["take_ticket"] += t2 - t1
        counts["call_next"] += 1
        counts["take_ticket"] += 1
        if r % 50 == 0:
            t3 = clock()
            hall.execute(tick, now)
            costs["tick"] += clock() - t3
            counts["tick"] += 1
    return {k: 1e6 * costs[k] / counts[k] for k in costs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 10_000, 100_000])
    ap.add_argument("--rounds", type=int, default=20_000)
    args = ap.parse_args()
    results = {size: run(size, args.rounds) for size in args.sizes}
    base = results[min(args.sizes)]
    print(f"{'waiting':>9} {'command':<12} {'µs/command':>11} {'× smallest':>11}")
    for size, r in results.items():
        for cmd, us in r.items():
            print(f"{size:>9,} {cmd:<12} {us:>11.1f} {us / base[cmd]:>10.2f}×")


if __name__ == "__main__":
    main()
