"""Journal throughput: durable appends/s by batch size, and replay rate over 1,000,000 events.

Run from the repository root: ``python bench/bench_journal.py``. Works in a temporary
directory (on the same file system as $TMPDIR: fsync cost depends on that disk).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# A plain script: make the package importable when it is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import structlog

from hallctl.journal import Journal, PendingEvent

SECONDS_PER_BATCH_SIZE = 1.5
REPLAY_EVENTS = 1_000_000
DATA = json.dumps(
    {"ticket": "A012", "service": "BDC", "window": 5, "channel": "normal", "waiting": 7},
    ensure_ascii=False,
)


def event(n: int) -> PendingEvent:
    return PendingEvent(
        f"01JBENCH{n:012d}", "ticket.issued", "2025-03-01T09:00:00+08:00", "2025-03-01",
        None, 1, DATA,
    )  # fmt: skip


def bench_appends(journal: Journal, batch: int, start: int) -> int:
    """Append batches for a fixed time; return how many events were written."""
    n = start
    appends = 0
    began = time.perf_counter()
    while (elapsed := time.perf_counter() - began) < SECONDS_PER_BATCH_SIZE:
        journal.append([event(n + i) for i in range(batch)])
        n += batch
        appends += 1
    print(
        f"append batch={batch:>3}: {appends / elapsed:8.0f} appends/s "
        f"{appends * batch / elapsed:9.0f} events/s  (each append durable, fsync)"
    )
    return n


def fsync_cost(directory: Path, count: int = 200) -> None:
    """The disk's own price of durability: write 4 KiB and fsync it, on the journal's disk.

    A durable append costs about one of these (SQLite's WAL commit); telling the two apart
    says whether a figure is disk-bound or CPU-bound on the machine it was measured on.
    """
    times = []
    with open(directory / "fsync-probe", "wb") as f:
        for _ in range(count):
            f.write(os.urandom(4096))
            f.flush()
            t0 = time.perf_counter()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - t0)
    times.sort()
    print(
        f"fsync of a 4 KiB write ({count}×): median {statistics.median(times) * 1000:.2f} ms, "
        f"p90 {times[int(count * 0.9)] * 1000:.2f} ms, max {times[-1] * 1000:.1f} ms"
    )


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="hallctl-bench-") as tmp:
        path = Path(tmp) / "journal.db"
        fsync_cost(Path(tmp))
        with Journal(path) as journal:
            n = 0
            for batch in (1, 10, 100):
                n = bench_appends(journal, batch, n)

            began = time.perf_counter()
            while n < REPLAY_EVENTS:
                size = min(10_000, REPLAY_EVENTS - n)
                journal.append([event(n + i) for i in range(size)])
                n += size
            fill = time.perf_counter() - began
            print(f"fill to {n:,} events (batches of 10,000): {fill:5.1f} s")

            began = time.perf_counter()
            count = sum(1 for _ in journal.replay())
            elapsed = time.perf_counter() - began
            print(f"replay {count:,} events: {count / elapsed:9.0f} events/s ({elapsed:.1f} s)")

            began = time.perf_counter()
            size = sum(len(r.envelope_json("hall-1")) for r in journal.replay())
            elapsed = time.perf_counter() - began
            print(
                f"replay + envelope_json: {count / elapsed:9.0f} events/s "
                f"({size / count:.0f} bytes/envelope)"
            )


if __name__ == "__main__":
    main()
