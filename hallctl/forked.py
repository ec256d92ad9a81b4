"""Bytes made in a forked child, so the event loop keeps running while they are made.

A snapshot pickles the whole hall state: megabytes on a busy day, 70-400 ms of CPU here. A
thread does not help, because the C pickler holds the GIL from start to end. ``fork()`` costs
about 2 ms with a busy day's 62 MB (more on a loaded VM: docs/performance.md): the child gets
a copy-on-write image of the state exactly as it was at the fork, computes there, and streams
the bytes back through a pipe while the parent serves. This is how Redis writes its snapshots.
The parent pays for each page it writes while the child lives (a copy per page), so the
shorter the child's work, the fewer copies.

The child only runs ``make`` and writes to the pipe: it touches no lock another thread may have
held at the fork (no logging, no SQLite, no asyncio), and leaves with ``os._exit`` (no atexit
handlers, no flushing of the parent's buffers).

The child runs at idle priority (``SCHED_IDLE``): on a 2-core machine a pickling child at the
daemon's own priority takes a core the event loop then waits for, and the scheduler lets a
waking thread of normal priority preempt an idle one at once. Lowering one's own priority
needs no privilege; where a sandbox refuses it (EPERM), the child runs at the daemon's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable

__all__ = ["ChildFailed", "Forked", "fork"]


class ChildFailed(Exception):
    """The forked child did not make its bytes (it raised, or was killed)."""


class Forked:
    """A child started by :func:`fork`; ``await result()`` for its bytes."""

    def __init__(self, pid: int, read_fd: int) -> None:
        self.pid = pid
        self._fd = read_fd

    async def result(self) -> bytes:
        # One thread reads, closes and reaps: cancelling the awaiting task cannot leave the
        # pipe half-read or the child a zombie.
        data, status = await asyncio.to_thread(_collect, self.pid, self._fd)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise ChildFailed(f"child {self.pid} ended with {code}")
        return data


def fork(make: Callable[[], bytes]) -> Forked:
    """Start a child that makes ``make()`` from the memory as it is now; returns at once.

    Raises OSError when no child can be started (out of memory or processes).
    """
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
        _child(make, read_fd, write_fd)
    os.close(write_fd)
    return Forked(pid, read_fd)


def _child(make: Callable[[], bytes], read_fd: int, write_fd: int) -> None:
    code = 1
    try:
        os.close(read_fd)
        # A signal meant for the daemon (systemd signals the whole cgroup) must neither run
        # the parent's handlers here nor write to the parent's asyncio wake-up pipe.
        with contextlib.suppress(ValueError):  # only possible in the main thread
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
        lower_priority()
        view = memoryview(make())
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    finally:
        os._exit(code)


def lower_priority() -> None:
    """Run this process only when a core is otherwise idle (``SCHED_IDLE``), else at nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 19)


def _collect(pid: int, fd: int) -> tuple[bytes, int]:
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return b"".join(chunks), status
