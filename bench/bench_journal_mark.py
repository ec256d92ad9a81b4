"""Cost of the journal's high-water mark (hallctl/journal_mark.py) on durable appends.

Same process, same file system, rounds interleaved: appends of one event (the worst case:
one mark update per fsynced commit) with the mark as shipped (one pwrite, no fsync), with
mark updates switched off (the baseline: the journal before the mark), and with an fsync
after every mark update (the alternative not taken). Prints appends/s and the ratio, and the
pwrite alone timed over 100,000 calls against the baseline's time per append (the disk's
noise swamps a difference this small in the interleaved rounds).

Run from the repository root: ``python bench/bench_journal_mark.py`` (about 20 s).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import structlog

from hallctl.journal import Journal, PendingEvent

ROUNDS = 5
SECONDS_PER_ROUND = 1.0


def event(n: int) -> PendingEvent:
    return PendingEvent(f"01JMARK{n:012d}", "ticket.issued", "2025-03-01T09:00:00+08:00",
                        "2025-03-01", None, 1, '{"ticket":"A012","service":"BDC"}')


def rate(journal: Journal, start: int) -> tuple[float, int]:
    n = start
    began = time.perf_counter()
    while time.perf_counter() - began < SECONDS_PER_ROUND:
        journal.append([event(n)])
        n += 1
    return (n - start) / (time.perf_counter() - began), n


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="hallctl-bench-") as tmp, \
            Journal(Path(tmp) / "journal.db") as journal:
        mark = journal._mark  # the bench switches the mark's writes
        shipped: Callable[[int], None] = mark.write

        def synced(seq: int) -> None:
            shipped(seq)
            mark.sync()

        variants: dict[str, Callable[[int], None]] = {
            "no mark (baseline)": lambda seq: None,
            "mark, pwrite (shipped)": shipped,
            "mark, pwrite + fsync": synced,
        }
        results: dict[str, list[float]] = {name: [] for name in variants}
        n = 0
        for _ in range(ROUNDS):
            for name, write in variants.items():
                mark.write = write  # type: ignore[method-assign]
                r, n = rate(journal, n)
                results[name].append(r)
        mark.write = shipped  # type: ignore[method-assign]
        # The mark's own cost, free of the disk's noise: the pwrite alone, many times.
        calls = 100_000
        began = time.perf_counter()
        for seq in range(calls):
            shipped(seq)
        pwrite_us = (time.perf_counter() - began) / calls * 1e6
    best = {name: sorted(r)[len(r) // 2] for name, r in results.items()}  # medians
    base = best["no mark (baseline)"]
    print(f"durable appends of 1 event, median of {ROUNDS} interleaved rounds "
          f"({os.environ.get('TMPDIR', '/tmp')}):")
    for name, value in best.items():
        print(f"  {name:<24} {value:8.0f} appends/s  = {value / base:5.1%} of baseline")
    append_us = 1e6 / base
    print(f"  the mark's pwrite alone: {pwrite_us:.1f} µs per append = "
          f"{pwrite_us / append_us:.2%} of a durable append ({append_us:.0f} µs)")


if __name__ == "__main__":
    main()
