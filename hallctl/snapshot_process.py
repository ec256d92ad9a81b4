"""The periodic snapshot, made by a fresh interpreter that shares no memory with the daemon.

Pickling a busy day's state takes 70-400 ms of CPU, with the GIL held throughout: not on the
event loop, and not in a thread. A forked child (Redis's way, and ours until issue 15's fifth
session) copies the daemon's page tables at the fork (2 ms with 62 MB, more on a loaded machine)
and makes the parent copy each page it writes while the child lives: 1,500-3,000 page faults in
one loop wake, 2-5 ms, the largest part of the day's longest stalls.

This process needs nothing from the daemon's memory. The journal already holds the state:
the latest snapshot plus the events after it, folded exactly as a restart folds them
(``hallctl.snapshot.fold``; a restart gives the live state, tests/test_engine.py and the
invariant in tests/hall/test_invariants.py keep that). So the daemon starts
``python -m hallctl.snapshot_process JOURNAL SEQ FORMAT`` with its config pickled on stdin (the
very object the daemon folds with, not a file read again), and the child folds the journal up to
``SEQ`` (reading only: SQLite WAL readers block no writer), pickles the state and writes the
blob to stdout. The daemon saves it with its own journal writer, as it saved the forked
child's: a writer at idle priority could hold SQLite's write lock while a busy machine gives
it no core, and the daemon's commits would wait. The spawn is a ``vfork``: the parent copies
no page tables, and its starting thread (a worker, not the event loop's) waits only until the
child's ``exec``; the same thread feeds it, reads its 2 MB and reaps it. One at a time: the
engine starts the next only after.

The child lowers its own priority before it imports anything heavy (``SCHED_IDLE``): on a
2-core machine a busy child at the daemon's priority takes a core the event loop then waits
for, while a waking thread of normal priority preempts an idle one at once. Lowering one's own
priority needs no privilege; where a sandbox refuses it, nice 19.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig

__all__ = ["Made", "SnapshotFailed", "lower_priority", "make", "spawn"]

# A busy day's fold, pickle and write take 1-2 s of CPU; at idle priority on a saturated
# machine the child may wait much longer for a core. Past this it is killed: the next one
# folds from the previous snapshot anyway.
TIMEOUT_S = 600.0
_STDERR_KEPT = 2000  # characters of a failed child's stderr kept in the log
# sys.path[0] of `python -m` is the working directory: run from the directory that holds this
# very package, so the child imports the daemon's own code whatever the daemon's cwd.
_ROOT = Path(__file__).resolve().parent.parent


class SnapshotFailed(Exception):
    """The snapshot process made no snapshot (it failed, was killed, or took too long).

    ``detail``: the end of what it wrote to stderr (a traceback, for a bug).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


@dataclass(frozen=True)
class Made:
    """What the child made: the snapshot's blob at ``seq`` (empty: one at ``seq`` exists)."""

    seq: int
    after: int  # the snapshot it started from (0: none, a full replay)
    replayed: int  # events folded onto it
    blob: bytes  # as ``snapshot_blob`` makes it, for ``Journal.save_snapshot``


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """Start the child (a ``vfork``: the caller's thread waits until the child's ``exec``)."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=_ROOT,
        # Its own session: a Ctrl-C at the terminal is for the daemon, which then ends the
        # child itself (systemd stops the whole cgroup anyway).
        start_new_session=True,
    )


def command(journal: Path, seq: int) -> list[str]:
    """The child's command line (the journal absolute: the child runs in another directory).

    With the daemon's snapshot format: after an upgrade installed under a running daemon, the
    child would run the new code with the old daemon's config object; it refuses instead.
    """
    from hallctl.snapshot import SNAPSHOT_FORMAT

    return [
        sys.executable, "-m", "hallctl.snapshot_process",
        str(journal.absolute()), str(seq), SNAPSHOT_FORMAT,
    ]  # fmt: skip


class _Child:
    """The child's whole life, run in a worker thread: start, feed, wait, reap.

    Not on the event loop: with ``vfork`` the starting thread waits until the child's ``exec``,
    and on a loaded machine the new child may wait milliseconds for a core (4-6 ms in
    bench_day at load 3 when asyncio started it from the loop). The GIL is released meanwhile.
    """

    def __init__(self, argv: list[str], job: bytes) -> None:
        self._argv = argv
        self._job = job
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ended = False  # the daemon wants no child any more

    def run(self) -> Made:
        with self._lock:
            if self._ended:
                raise SnapshotFailed("ended before it started")
            try:
                proc = self._proc = spawn(self._argv)
            except OSError as e:  # out of memory or processes
                raise SnapshotFailed(f"cannot start: {e}") from e
        try:
            out, err = proc.communicate(self._job, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            proc.kill()
            proc.communicate()
            raise SnapshotFailed(f"killed after {TIMEOUT_S:.0f} s") from e
        if proc.returncode != 0:
            tail = err.decode(errors="replace")[-_STDERR_KEPT:].strip()
            last = tail.rsplit("\n", 1)[-1]  # a traceback's last line: the exception
            raise SnapshotFailed(f"ended with {proc.returncode}: {last}", tail)
        # Here, not on the loop: the blob's copy is 2 MB of fresh pages (500 page faults).
        head, _, blob = out.partition(b"\n")
        try:
            return Made(**json.loads(head), blob=blob)
        except (ValueError, TypeError) as e:
            raise SnapshotFailed(f"unreadable report {head[:200]!r}") from e

    def end(self) -> None:
        """Kill the child if it runs, or keep it from starting; ``run`` then reaps it."""
        with self._lock:
            self._ended = True
            if self._proc is not None and self._proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()


async def make(config: HallConfig, journal: Path, seq: int) -> Made:
    """Have a separate process save the snapshot at ``seq``; cancelling kills it.

    Raises SnapshotFailed when no snapshot was saved; the journal is then as it was.
    """
    child = _Child(command(journal, seq), pickle.dumps(config, protocol=5))
    running = asyncio.ensure_future(asyncio.to_thread(child.run))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        # The daemon stops: kill it (it only reads the journal: nothing is left half done)
        # and wait until it is reaped.
        child.end()
        with contextlib.suppress(Exception):
            await running
        raise


def lower_priority() -> None:
    """Run this process only when a core is otherwise idle (``SCHED_IDLE``), else at nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 19)


def main(argv: list[str]) -> int:
    """The child: fold the journal up to SEQ; write a JSON line, then the snapshot's blob."""
    lower_priority()  # before the imports below: they are most of a start's CPU
    from hallctl.config.models import HallConfig
    from hallctl.journal import Journal
    from hallctl.logging import configure_logging
    from hallctl.snapshot import SNAPSHOT_FORMAT, fold, snapshot_blob

    configure_logging(level="warning", json=True)  # stderr: the daemon logs it if we fail
    path, seq, daemons_format = Path(argv[0]), int(argv[1]), argv[2]
    if daemons_format != SNAPSHOT_FORMAT:
        raise RuntimeError(f"the daemon runs {daemons_format}, this code is {SNAPSHOT_FORMAT}")
    config = pickle.loads(sys.stdin.buffer.read())  # the daemon's own object, through a pipe
    if not isinstance(config, HallConfig):
        raise TypeError(f"stdin holds a {type(config).__name__}, not a HallConfig")
    # Read only: the daemon writes the snapshot. This process runs at idle priority and could
    # hold SQLite's write lock for seconds when a busy machine leaves it no core, while the
    # daemon's commits waited (and failed after the busy timeout). WAL readers block nobody.
    with Journal(path, check_mark=False) as journal:  # the mark is the daemon's to move
        latest = journal.load_snapshot()
        if latest is not None and latest[0] >= seq:
            head, blob = {"seq": latest[0], "after": latest[0], "replayed": 0}, b""
        else:
            hall, after, replayed = fold(config, journal, upto=seq)
            hall.state.last_seq = seq  # as the live engine's state has it
            head = {"seq": seq, "after": after, "replayed": replayed}
            blob = snapshot_blob(hall.state)
    sys.stdout.buffer.write(json.dumps(head).encode() + b"\n" + blob)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
