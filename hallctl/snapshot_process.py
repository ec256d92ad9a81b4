"""The snapshot process: one long-lived interpreter beside the daemon, sharing no memory with it,
that keeps the state folded from the journal and hands the daemon a snapshot on request.

Pickling a busy day's state takes 70-400 ms of CPU with the GIL held, so it is not done on the
event loop nor in a thread. A forked child (until issue 15's fifth session) copied the daemon's
page tables and made it copy each page it wrote while the child lived. A fresh interpreter a
snapshot (the fifth session) shares nothing, but each paid its whole start again: the imports
(the config's pydantic models, the hall core: 0.8-1.2 s of CPU, most of it), loading the last
snapshot (2 MB) and pickling the state, at idle priority, so a snapshot was being made for
1.5-3 s of every 300 events in bench_keypress and the presses that landed then were slower
(docs/performance.md, "Key press").

So the process now starts once, at the first snapshot, and lives until the daemon stops
(``SnapshotProcess``; lifetimes as ``async with`` in hallctl/snapshots.py). It folds the journal
up to the first seq asked exactly as a restart folds it (``hallctl.snapshot.fold``), keeps that
hall in memory, and for each later request reads only the journal's events after the seq it
holds, applies them (``fold_onto``) and pickles the state: the work a snapshot is the events
since the last one plus the pickle, not the interpreter's start and the previous snapshot's
load. A restart from the snapshot plus the journal's tail gives the live state, as before: the
hall it keeps is folded by the same code that folds at a restart, applying the same events in
order (tests/test_snapshot_process.py, tests/test_engine.py, tests/hall/test_invariants.py).
It checks that it applied every seq from the one it held to the one asked, one by one; a gap
(a journal pruned under it) makes it fold afresh from the latest snapshot instead.

It only reads the journal (SQLite WAL readers block no writer): the daemon saves the blob with
its own journal writer, because a writer at idle priority could hold SQLite's write lock while a
busy machine gives it no core. The daemon's side runs in a worker thread, not on the loop: the
first request's spawn is a ``vfork`` whose thread waits until the child's ``exec``, and a
reply's 2 MB are fresh pages to copy. One request at a time (hallctl/snapshots.py). A process
that fails, is killed or takes longer than ``TIMEOUT_S`` makes no snapshot and changes nothing:
it is reaped, and the next request starts a fresh one, which folds from the latest snapshot.

The process lowers its own priority before it imports anything heavy (``SCHED_IDLE``): on a
2-core machine a busy child at the daemon's priority takes a core the event loop then waits
for, while a waking thread of normal priority preempts an idle one at once. Lowering one's own
priority needs no privilege; where a sandbox refuses it, nice 19. It ends when its standard
input closes: the daemon's stop, or the daemon's death (it never outlives it by more than the
request it is folding).

The protocol, on its pipes: standard input carries the daemon's config (one pickle: the very
object the daemon folds with, not a file read again), then one request a line, the seq as
decimal digits; standard output one reply a request: a JSON line (``seq``, ``after``,
``replayed``, ``bytes``) and then ``bytes`` bytes of blob (none: a snapshot at ``seq`` is in the
journal already). Standard error goes to an unnamed file the daemon reads when the process fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig
    from hallctl.hall.core import Hall
    from hallctl.journal import Journal

__all__ = ["Made", "SnapshotFailed", "SnapshotProcess", "lower_priority", "spawn"]

# A busy day's first fold, pickle and write take 1-2 s of CPU; at idle priority on a saturated
# machine the process may wait much longer for a core. Past this it is killed: the next one
# folds from the previous snapshot anyway.
TIMEOUT_S = 600.0
_STDERR_KEPT = 2000  # characters of a failed process's stderr kept in the log
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
    """What the process made: the snapshot's blob at ``seq`` (empty: one at ``seq`` exists)."""

    seq: int
    after: int  # the seq it folded from (its previous snapshot; 0: a full replay)
    replayed: int  # events folded onto it
    blob: bytes  # as ``snapshot_blob`` makes it, for ``Journal.save_snapshot``


def spawn(argv: list[str], stderr: IO[bytes] | int) -> subprocess.Popen[bytes]:
    """Start the process (a ``vfork``: the caller's thread waits until the child's ``exec``)."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=_ROOT,
        # Its own session: a Ctrl-C at the terminal is for the daemon, which then ends the
        # process itself (systemd stops the whole cgroup anyway).
        start_new_session=True,
    )


def command(journal: Path) -> list[str]:
    """The process's command line (the journal absolute: it runs in another directory).

    With the daemon's snapshot format: after an upgrade installed under a running daemon, the
    process would run the new code with the old daemon's config object; it refuses instead.
    """
    from hallctl.snapshot import SNAPSHOT_FORMAT

    return [
        sys.executable, "-m", "hallctl.snapshot_process",
        str(journal.absolute()), SNAPSHOT_FORMAT,
    ]  # fmt: skip


class _Request:
    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.aborted = False


class SnapshotProcess:
    """The daemon's side: starts the process at the first request, asks, reads, reaps.

    ``request`` blocks (run it in a worker thread, one at a time); ``make`` is its async face,
    which kills the process when cancelled or past ``TIMEOUT_S``. ``close`` ends the process;
    a later request starts a fresh one.
    """

    def __init__(self, config: HallConfig, journal: Path) -> None:
        self._argv = command(journal)
        self._config = pickle.dumps(config, protocol=5)
        self._lock = threading.Lock()  # over _proc: the worker thread and the loop both use it
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.pid

    async def make(self, seq: int) -> Made:
        """The snapshot at ``seq`` (the last durable seq); cancelling kills the process.

        Raises SnapshotFailed when none was made; the journal is then as it was.
        """
        request = _Request(seq)
        running = asyncio.ensure_future(asyncio.to_thread(self.request, request))
        try:
            async with asyncio.timeout(TIMEOUT_S):
                return await asyncio.shield(running)
        except (asyncio.CancelledError, TimeoutError) as e:
            # It only reads the journal: killed, nothing is left half done.
            self._abort(request)
            with contextlib.suppress(Exception):
                await running
            if isinstance(e, TimeoutError):
                raise SnapshotFailed(f"killed after {TIMEOUT_S:.0f} s") from e
            raise

    def request(self, request: _Request) -> Made:
        idle = self._proc
        if idle is not None and idle.poll() is not None:  # it died between two requests
            ended = self._reap(idle)
            import structlog  # here: the process itself imports nothing before lowering itself

            structlog.get_logger("hallctl.engine").warning(
                "engine.snapshot_process_ended", reason=str(ended), detail=ended.detail
            )
        with self._lock:
            if request.aborted:
                raise SnapshotFailed("ended before it started")
            fresh = self._proc is None
            proc = self._proc or self._start()
        assert proc.stdin is not None and proc.stdout is not None
        line = b""
        try:
            if fresh:  # not under the lock: the write waits until its imports are done
                proc.stdin.write(self._config)
            proc.stdin.write(b"%d\n" % request.seq)
            proc.stdin.flush()
            line = proc.stdout.readline()
            if line:
                head = json.loads(line)
                size = head.pop("bytes")
                blob = proc.stdout.read(size)
                if len(blob) == size:
                    return Made(**head, blob=blob)
        except (ValueError, TypeError, KeyError) as e:  # not what it should have said: a bug
            self._kill(proc)
            self._reap(proc)
            raise SnapshotFailed(f"unreadable reply {line[:200]!r}") from e
        except OSError:
            pass  # the pipe broke: it ended; why is below
        raise self._reap(proc)

    def _start(self) -> subprocess.Popen[bytes]:
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open while the process lives
        try:
            proc = spawn(self._argv, stderr)
        except OSError as e:  # out of memory or processes
            stderr.close()
            raise SnapshotFailed(f"cannot start: {e}") from e
        self._proc, self._stderr = proc, stderr
        return proc

    def _reap(self, proc: subprocess.Popen[bytes]) -> SnapshotFailed:
        """Wait for a process that ended (or was killed); it is forgotten, the next request
        starts another. What it said on stderr becomes the failure's detail."""
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        returncode = proc.wait()
        tail = ""
        stderr = None
        with self._lock:
            if self._proc is proc:  # else forgotten already, its stderr read
                stderr = self._stderr
                self._proc, self._stderr = None, None
        if stderr is not None:
            with stderr:
                stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - _STDERR_KEPT * 4))
                tail = stderr.read().decode(errors="replace")[-_STDERR_KEPT:].strip()
        last = tail.rsplit("\n", 1)[-1]  # a traceback's last line: the exception
        return SnapshotFailed(f"ended with {returncode}: {last}", tail)

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    def _abort(self, request: _Request) -> None:
        """Keep ``request`` from starting, or kill the process serving it (its thread then
        reads the end of its pipe and reaps it)."""
        with self._lock:
            request.aborted = True
            if self._proc is not None:
                self._kill(self._proc)

    async def close(self) -> None:
        """End the process, if one runs, and reap it (no request may be in flight)."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            self._kill(proc)
        await asyncio.to_thread(self._reap, proc)


def lower_priority() -> None:
    """Run this process only when a core is otherwise idle (``SCHED_IDLE``), else at nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 19)


class _Folded:
    """The hall as the journal has it up to ``at``, kept between requests."""

    def __init__(self, config: HallConfig, journal: Journal) -> None:
        self._config = config
        self._journal = journal
        self._hall: Hall | None = None
        self.at = 0

    def made(self, seq: int) -> tuple[dict[str, int], bytes]:
        from hallctl.snapshot import Gap, fold, fold_onto, snapshot_blob

        hall = self._hall
        if hall is not None and seq <= self.at:
            return {"seq": self.at, "after": self.at, "replayed": 0}, b""  # nothing new
        after = self.at
        try:
            if hall is None:
                raise Gap("nothing folded yet")
            replayed = fold_onto(hall, self._journal, after, seq)
        except Gap:
            hall, after, replayed = fold(self._config, self._journal, upto=seq)
            if after < seq:
                _reached(hall, seq, self._journal)
        self._hall, self.at = hall, seq
        if after == seq:
            return {"seq": seq, "after": seq, "replayed": 0}, b""  # the latest snapshot is it
        hall.state.last_seq = seq  # as the live engine's state has it
        return {"seq": seq, "after": after, "replayed": replayed}, snapshot_blob(hall.state)


def _reached(hall: Hall, seq: int, journal: Journal) -> None:
    """A full fold must have found the event at ``seq`` (the daemon asks only durable ones)."""
    last = journal.read_after(seq - 1, 1)
    if not last or last[0].seq != seq:
        raise RuntimeError(f"the journal has no event {seq}: no snapshot made")


def main(argv: list[str]) -> int:
    """The process: answer requests on stdin until it closes (module docstring)."""
    lower_priority()  # before the imports below: they are most of a start's CPU
    from hallctl.config.models import HallConfig
    from hallctl.journal import Journal
    from hallctl.logging import configure_logging
    from hallctl.snapshot import SNAPSHOT_FORMAT

    configure_logging(level="warning", json=True)  # stderr: the daemon logs it if we fail
    path, daemons_format = Path(argv[0]), argv[1]
    if daemons_format != SNAPSHOT_FORMAT:
        raise RuntimeError(f"the daemon runs {daemons_format}, this code is {SNAPSHOT_FORMAT}")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    config = pickle.load(stdin)  # the daemon's own object, through a pipe
    if not isinstance(config, HallConfig):
        raise TypeError(f"stdin holds a {type(config).__name__}, not a HallConfig")
    # Read only: the daemon writes the snapshot. This process runs at idle priority and could
    # hold SQLite's write lock for seconds when a busy machine leaves it no core, while the
    # daemon's commits waited (and failed after the busy timeout). WAL readers block nobody.
    with Journal(path, check_mark=False) as journal:  # the mark is the daemon's to move
        folded = _Folded(config, journal)
        for line in stdin:  # ends when the daemon closes the pipe (its stop, or its death)
            head, blob = folded.made(int(line))
            stdout.write(json.dumps({**head, "bytes": len(blob)}).encode() + b"\n")
            stdout.write(blob)
            stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
