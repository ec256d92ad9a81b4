"""A loop-lag probe: how late a 1 ms sleep wakes, over and over, and why.

For every wake it also records what the loop's thread did in that time: its own CPU
(``time.thread_time``), its time runnable but waiting for a core (the kernel's run-queue
wait, ``/proc/thread-self/schedstat``), its minor page faults (``getrusage(RUSAGE_THREAD)``:
copy-on-write copies after a fork land here), and whether a snapshot child was alive.
Lateness is then split three ways: the loop's own CPU (this process's work holding the loop),
waiting for a core (the machine took it: other processes, a forked child), and the rest, which
for a thread that has a timer due is waiting for the GIL (another thread of this process).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PROBE_S = 0.001
LATE_MS = 5.0


def _thread_faults() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt


def _run_queue_ns() -> int:
    """Nanoseconds this thread has been runnable but not running (Linux schedstat)."""
    with open("/proc/thread-self/schedstat", "rb") as f:
        return int(f.read().split()[1])


@dataclass
class Wake:
    late_ms: float
    cpu_ms: float  # the loop thread's CPU between going to sleep and waking
    queued_ms: float  # runnable, waiting for a core
    faults: int
    child: bool  # a snapshot child was alive at the wake

    @property
    def without_cpu(self) -> bool:
        """Most of the lateness was not this thread running: it waited for a core or the GIL."""
        return self.late_ms - self.cpu_ms > self.late_ms / 2

    @property
    def gil_ms(self) -> float:
        """Neither running nor queued for a core: blocked, i.e. waiting for the GIL."""
        return max(0.0, self.late_ms - self.cpu_ms - self.queued_ms)


@dataclass
class LagProbe:
    child_alive: Callable[[], bool] = lambda: False
    wakes: list[Wake] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            t, c, f, q = time.perf_counter(), time.thread_time(), _thread_faults(), _run_queue_ns()
            await asyncio.sleep(PROBE_S)
            late = (time.perf_counter() - t - PROBE_S) * 1000
            self.wakes.append(Wake(late, (time.thread_time() - c) * 1000,
                                   (_run_queue_ns() - q) / 1e6, _thread_faults() - f,
                                   self.child_alive()))

    def pct(self, p: float) -> float:
        ms = sorted(w.late_ms for w in self.wakes)
        return ms[min(len(ms) - 1, int(len(ms) * p / 100))]

    def longest_ms(self) -> float:
        return max(w.late_ms for w in self.wakes)

    def longest_cpu_ms(self) -> float:
        """The most CPU the loop's thread spent inside one sleep: its own longest stall."""
        return max(w.cpu_ms for w in self.wakes)

    def late(self) -> list[Wake]:
        return [w for w in self.wakes if w.late_ms > LATE_MS]

    def summary(self) -> str:
        late = self.late()
        worst = max(self.wakes, key=lambda w: w.late_ms)
        return (
            f"longest {self.longest_ms():.1f} ms (loop's own CPU in it {worst.cpu_ms:.1f} ms, "
            f"waiting for a core {worst.queued_ms:.1f} ms, for the GIL {worst.gil_ms:.1f} ms, "
            f"{worst.faults} page faults, child {'alive' if worst.child else 'none'}), "
            f"p99.9 {self.pct(99.9):.2f} ms, p99 {self.pct(99):.2f} ms; "
            f"{len(late)} of {len(self.wakes)} wakes > {LATE_MS:.0f} ms late "
            f"({sum(w.without_cpu for w in late)} without the loop's CPU: it waited for a "
            f"core or the GIL; {sum(w.child for w in late)} with a snapshot child alive); "
            f"at most within one sleep: loop's own CPU {self.longest_cpu_ms():.1f} ms, waiting "
            f"for a core {max(w.queued_ms for w in self.wakes):.1f} ms, for the GIL "
            f"{max(w.gil_ms for w in self.wakes):.1f} ms, "
            f"{max(w.faults for w in self.wakes)} page faults"
        )

    def own_stall_ms(self, child: bool | None = None) -> float:
        """Longest lateness the loop caused itself: min(lateness, its own CPU) per wake
        (``child``: only the wakes with a snapshot child alive, or only those without)."""
        return max(
            (min(w.late_ms, w.cpu_ms) for w in self.wakes if child is None or w.child == child),
            default=0.0,
        )


async def idle(seconds: float) -> LagProbe:
    """The baseline: the same probe on a loop with nothing else to do (the machine's noise)."""
    probe = LagProbe()
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(seconds)
    task.cancel()
    return probe
