"""What starting a snapshot costs the event loop: the fork of old against the snapshot process.

    .venv/bin/python bench/bench_snapshot_spawn.py [--rounds 20 --mb 62]

The process first holds a busy day's worth of Python objects (--mb, 62 MB as the daemon after
a 20,000-ticket day), all of it referenced (live heap, not a freed arena). A loop-lag probe
(bench/loop_probe.py) sleeps 1 ms again and again; each round starts a child in each way, in
turn, and records the loop's longest wake in the 50 ms from the start, its own CPU and its
minor page faults:

- ``fork``: ``os.fork()`` on the loop, then the loop writes to the heap for the 50 ms, as the
  daemon does while the child pickles (copy-on-write: each page it touches is copied).
- ``asyncio``: ``asyncio.create_subprocess_exec`` on the loop (vfork + exec of a fresh
  interpreter; the loop's thread waits until the child's exec).
- ``thread``: ``hallctl.snapshot_process.spawn`` in a worker thread, as the engine does.

The child is ``python -c 'import time; time.sleep(0.2)'`` in the last two, a sleeping fork in
the first. Baseline in the same rounds: 50 ms windows with no child started. After a fork the
pages it shared stay write-protected after the child is gone (the first write to each still
faults), so each round ends with the fork and then writes the whole heap once, unmeasured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loop_probe import LagProbe  # noqa: E402

from hallctl import snapshot_process  # noqa: E402

WINDOW_S = 0.05
CHILD = [sys.executable, "-c", "import time; time.sleep(0.2)"]


def heap(mb: int) -> list[dict[str, object]]:
    """Live Python objects of about ``mb`` MB (dicts of small values, as a day's tickets)."""
    items: list[dict[str, object]] = []
    start = _rss_mb()
    while _rss_mb() - start < mb:
        items.extend({"n": i, "s": f"A{i:05d}", "t": float(i)} for i in range(20_000))
    return items


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def touch(items: list[dict[str, object]], until: float) -> None:
    """The loop's own work meanwhile: write to the heap a little every ms (as serving does)."""
    i = 0
    while time.perf_counter() < until:
        for _ in range(200):
            items[i % len(items)]["t"] = 1.0
            i += 977  # a stride over many pages
        await asyncio.sleep(0.001)


_reaping: set[asyncio.Future[int]] = set()


async def start(way: str) -> None:
    if way == "fork":
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            time.sleep(0.2)  # noqa: ASYNC251 - the forked child, no loop of its own
            os._exit(0)
        asyncio.get_running_loop().run_in_executor(None, os.waitpid, pid, 0)
    elif way == "asyncio":
        proc = await asyncio.create_subprocess_exec(*CHILD)
        _reaping.add(asyncio.ensure_future(proc.wait()))
    elif way == "thread":
        popen = await asyncio.to_thread(snapshot_process.spawn, CHILD, subprocess.DEVNULL)
        asyncio.get_running_loop().run_in_executor(None, popen.communicate)


async def main(args: argparse.Namespace) -> None:
    items = heap(args.mb)
    print(f"heap {len(items):,} objects, RSS {_rss_mb():.0f} MB; load "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    ways = ["none", "asyncio", "thread", "fork"]
    worst: dict[str, list[tuple[float, float, int]]] = {w: [] for w in ways}
    probe = LagProbe()
    probing = asyncio.create_task(probe.run())
    for _ in range(args.rounds):
        for way in ways:
            await asyncio.sleep(0.3)  # the previous child gone, its pages settled
            first = len(probe.wakes)
            t0 = time.perf_counter()
            toucher = asyncio.create_task(touch(items, t0 + WINDOW_S))
            if way != "none":
                await start(way)
            await toucher
            await asyncio.sleep(0.005)  # the wake that ends the window is in it too
            wakes = probe.wakes[first:]
            w = max(wakes, key=lambda w: w.late_ms)
            worst[way].append((w.late_ms, w.cpu_ms, max(x.faults for x in wakes)))
            if way == "fork":
                # A page shared with a fork stays write-protected after the child is gone: the
                # first write to it later still faults (the kernel finds it is the only owner
                # and hands it back). Write to all of them once, outside any window.
                await asyncio.sleep(0.3)
                for item in items:
                    item["t"] = 0.0
    probing.cancel()
    await asyncio.sleep(0.3)
    base = statistics.median(late for late, _, _ in worst["none"])
    for way in ways:
        late = [x[0] for x in worst[way]]
        cpu = [x[1] for x in worst[way]]
        faults = [x[2] for x in worst[way]]
        print(f"{way:8} longest wake in the window: median {statistics.median(late):5.1f} ms, "
              f"max {max(late):5.1f} ms (its loop CPU median {statistics.median(cpu):4.1f} ms); "
              f"page faults in one wake: median {statistics.median(faults):5.0f}, "
              f"max {max(faults):5d}; ratio to no child {statistics.median(late) / base:.2f}")
    t, f = (statistics.median(x[0] for x in worst[w]) for w in ("thread", "fork"))
    print(f"ratio thread/fork (median longest wake): {t / f:.2f}; load "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=20, help="rounds of the four ways, in turn")
    ap.add_argument("--mb", type=int, default=62, help="live heap to hold, MB")
    asyncio.run(main(ap.parse_args()))
