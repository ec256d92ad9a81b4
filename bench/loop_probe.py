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
import statistics
import threading
import time
from collections import Counter
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


class PassTrace:
    """Every loop pass's callbacks, timed in the loop thread's CPU: what fills the longest passes
    (a diagnosis; a thread clock read is a system call, so tracing costs a few microseconds a
    callback and the probe's figures from a traced run run high).

    Each callback is named for its task's coroutine (a task's step) or for its function; gc
    collections and the functions given to ``timed`` are counted within the pass they ran in.
    The ``keep`` passes with the most CPU of the loop's thread are kept.
    """

    def __init__(self, keep: int = 12, count: str = "core") -> None:
        self.keep = keep
        self.count = count  # the label whose calls a pass are counted (the commands)
        self.per_pass: Counter[int] = Counter()  # passes by how many ``count`` calls they held
        self.cpu_ms: list[float] = []  # each pass's CPU of the loop's thread
        self.gc_ms: dict[int, list[float]] = {}  # each collection's CPU, by generation
        self.passes = 0
        self.longest: list[tuple[float, float, dict[str, list[float]]]] = []  # cpu, wall, parts
        self._parts: dict[str, list[float]] = {}
        self._gc_t = 0.0
        self._thread = 0  # the loop's

    def _add(self, label: str, seconds: float) -> None:
        part = self._parts.get(label)
        if part is None:
            self._parts[label] = [1, seconds]
        else:
            part[0] += 1
            part[1] += seconds

    def timed(self, fn: Callable[..., object], label: str) -> Callable[..., object]:
        def run(*args: object, **kwargs: object) -> object:
            t = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(label, time.thread_time() - t)

        return run

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self._thread:
            return  # a worker thread's (it holds the GIL: the probe sees it as such)
        if phase == "start":
            self._gc_t = time.thread_time()
        else:
            spent = time.thread_time() - self._gc_t
            self._add(f"gc gen {info['generation']}", spent)
            self.gc_ms.setdefault(info["generation"], []).append(spent * 1000)

    def install(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """Trace ``loop`` from now on; returns the function that stops it."""
        import asyncio.events
        import gc

        self._thread = threading.get_ident()  # called on the loop's thread
        handle_run = asyncio.events.Handle._run
        run_once = loop._run_once  # type: ignore[attr-defined]
        trace = self

        def label(handle: asyncio.Handle) -> str:
            cb = handle._callback  # type: ignore[attr-defined]
            owner = getattr(cb, "__self__", None)
            if isinstance(owner, asyncio.Task):  # a task's step: where it resumes from
                coro = owner.get_coro()
                frame = getattr(coro, "cr_frame", None)
                where = f":{frame.f_lineno}" if frame is not None else ""
                return f"{getattr(coro, '__qualname__', owner.get_name())}{where}"
            return str(getattr(cb, "__qualname__", type(cb).__name__))

        def traced_run(handle: asyncio.Handle) -> None:
            name = label(handle)
            t = time.thread_time()
            try:
                handle_run(handle)
            finally:
                trace._add(name, time.thread_time() - t)

        def traced_once() -> None:
            trace._parts = {}
            c, t = time.thread_time(), time.perf_counter()
            run_once()
            cpu, wall = time.thread_time() - c, time.perf_counter() - t
            if loop._run_once is run_once:  # type: ignore[attr-defined]
                return  # stopped within this pass: what came after is not the day's
            trace.passes += 1
            trace.cpu_ms.append(cpu * 1000)
            counted = trace._parts.get(trace.count)
            trace.per_pass[int(counted[0]) if counted else 0] += 1
            kept = trace.longest
            if len(kept) < trace.keep or cpu > kept[-1][0]:
                kept.append((cpu, wall, trace._parts))
                kept.sort(key=lambda k: -k[0])
                del kept[trace.keep:]

        asyncio.events.Handle._run = traced_run  # type: ignore[method-assign]
        loop._run_once = traced_once  # type: ignore[attr-defined]
        gc.callbacks.append(self._gc)

        def stop() -> None:
            asyncio.events.Handle._run = handle_run  # type: ignore[method-assign]
            loop._run_once = run_once  # type: ignore[attr-defined]
            gc.callbacks.remove(self._gc)

        return stop

    def report(self) -> str:
        cpu = sorted(self.cpu_ms)

        def pct(p: float) -> float:
            return cpu[min(len(cpu) - 1, int(len(cpu) * p / 100))]

        held = sorted(self.per_pass.elements())
        busy = [n for n in held if n]
        lines = [
            f"{self.passes:,} passes; CPU a pass p99 {pct(99):.2f} ms, p99.9 {pct(99.9):.2f} ms, "
            f"max {cpu[-1]:.2f} ms; `{self.count}` calls in a pass that had any: median "
            f"{statistics.median(busy) if busy else 0:g}, p99 "
            f"{busy[int(len(busy) * 0.99)] if busy else 0}, max {held[-1]}",
            "gc collections (CPU): "
            + "; ".join(
                f"gen {g} {len(ms)}× median {statistics.median(ms):.2f} ms, max {max(ms):.2f}"
                for g, ms in sorted(self.gc_ms.items())
            ),
            f"the {len(self.longest)} passes with the most CPU:",
        ]
        for cpu, wall, parts in self.longest:
            top = sorted(parts.items(), key=lambda kv: -kv[1][1])[:6]
            lines.append(
                f"  CPU {cpu * 1000:.1f} ms (wall {wall * 1000:.1f}): "
                + "; ".join(f"{k} {int(n)}× {s * 1000:.2f} ms" for k, (n, s) in top)
            )
        return "\n".join(lines)
