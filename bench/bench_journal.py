"""Journal throughput: durable appends/s by batch size, and replay rate over 1,000,000 events.

Run from the repository root: ``python bench/bench_journal.py``. Works in a temporary
directory (on the same file system as $TMPDIR: fsync cost depends on that disk).
"""

from __future__ import annotations

import json
import logging
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


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="hallctl-bench-") as tmp:
        path = Path(tmp) / "journal.db"
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
