"""Key press → window strip latency with 60 window keypads on RS-485 lines at 9600 baud.

    .venv/bin/python bench/bench_keypress.py [--windows 60 --lines 3 --seconds 20 --load 20]

Every line is a ``hallctl.sim.wire`` process (real wire time at the baud, 11 bits a
character, half duplex); each keypad line has a matching strip line. The devices (keypads
and strips) run in their own process and hold the clock: a press is written to the wire at
t0, and t1 is when the strip frame for that window has fully arrived. In between: the key
frame's wire time, the daemon (driver → engine → journal fsync → fan-out → strip driver →
line owner) and the strip frame's wire time. Presses on one line are paced (one outstanding,
then a short random pause) so that the figure is the daemon's own cost, not line queueing;
the lines run concurrently, with a background of ``take_ticket`` requests (kiosks).

Across snapshots (``--day-tickets 20000 --snapshot-every 300``), the presses that overlap a
snapshot being made are reported apart from the others, with the snapshot processes' CPU a
snapshot and, for each state, the VM's steal time and the run-queue wait of the daemon's
threads, the device process and the wire processes (``Busy``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
# The hallctl under test: this checkout, or another one (--rounds runs this very bench over
# --baseline's code, so both get the same measurement; the device process inherits it).
ROOT = Path(os.environ.get("BENCH_KEYPRESS_CODE", HERE))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "bench"))

from loop_probe import LagProbe, idle  # noqa: E402

BITS_PER_CHAR = 11
GAP_CHARS = 3.5

Sample = tuple[float, int, int, float]  # latency s, key frame bytes, strip frame bytes, t0


def wire_time(nbytes: int, baud: int) -> float:
    """Characters on the wire; no gap: presses are paced, so the line is idle before each."""
    return nbytes * BITS_PER_CHAR / baud


# ---- the device side (its own process) -------------------------------------------------------


@dataclass
class _LineState:
    resume_at: float
    next: int = 0  # presses so far: the next keypad is next % windows + 1
    outstanding: tuple[int, int, float, int] | None = None  # window, address, t0, key bytes


def devices_main(lines: list[tuple[str, str, list[int]]], seconds: float, conn: Connection) -> None:
    """`lines`: (keypad device port, strip device port, windows on that pair of lines)."""
    from hallctl.codec.frame import FrameDecoder, encode_frame
    from hallctl.codec.loader import load_profile

    keypad, strip = load_profile("ff68-keypad"), load_profile("at-strip")
    fds: list[tuple[int, int]] = []
    for kp_port, led_port, _ in lines:
        pair = []
        for port in (kp_port, led_port):
            fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            tty.setraw(fd)
            pair.append(fd)
        fds.append((pair[0], pair[1]))
    decoders = {led: FrameDecoder(strip) for _, led in fds}
    conn.send("ready")
    conn.recv()  # go
    rng = random.Random(7)
    samples: list[Sample] = []  # latency, key bytes, strip bytes, t0
    state = [_LineState(resume_at=time.perf_counter() + rng.uniform(0, 0.05)) for _ in lines]
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        now = time.perf_counter()
        for k, (kp_fd, _) in enumerate(fds):
            st = state[k]
            if st.outstanding is None and now >= st.resume_at:
                windows = lines[k][2]
                address = st.next % len(windows) + 1
                st.next += 1
                frame = encode_frame(keypad, address=address, function=0x01, data=b"\x0c")
                st.outstanding = (windows[address - 1], address, time.perf_counter(), len(frame))
                os.write(kp_fd, frame)
        readable, _, _ = select.select([fd for pair in fds for fd in pair], [], [], 0.005)
        t1 = time.perf_counter()
        for fd in readable:
            try:
                data = os.read(fd, 4096)
            except OSError:
                continue
            if fd not in decoders:
                continue  # keypad line: acknowledgements and digits
            k = next(i for i, pair in enumerate(fds) if pair[1] == fd)
            st = state[k]
            for f in decoders[fd].feed(data):
                out = st.outstanding
                if out is None or f.address != out[1]:
                    continue
                if f"到{out[0]}号窗口".encode("gb2312") not in f.data:
                    continue
                samples.append((t1 - out[2], out[3], len(f.raw), out[2]))
                st.outstanding = None
                st.resume_at = t1 + 0.03 + rng.uniform(0, 0.05)
    conn.send(samples)


# ---- snapshots under the presses ---------------------------------------------------------------


def _schedstat(pid: int) -> tuple[int, int]:
    """(CPU ns, run-queue wait ns) summed over a process's threads (0, 0 once it is gone)."""
    cpu = wait = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                a, b, _ = f.read().split()
        except (OSError, ValueError):
            continue
        cpu += int(a)
        wait += int(b)
    return cpu, wait


def _machine() -> tuple[int, int]:
    """(steal, busy) jiffies of all the VM's vCPUs (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, f.readline().split()[1:9]
        )
    return steal, user + nice + system + irq + softirq


class Busy:
    """When a snapshot is being made, as the loop sees it (polled at each probe wake: 1 ms), and
    what the machine did then and otherwise: the VM's steal time (its host running something
    else while a vCPU wanted to run), and each watched group's CPU and run-queue wait (runnable,
    no core). Counters are read at each change, so each span is charged to its own state."""

    def __init__(self, is_busy: Callable[[], bool], watched: dict[str, list[int]]) -> None:
        self._is_busy = is_busy
        self._watched = watched
        self.intervals: list[tuple[float, float]] = []
        self.child_cpu_ms = 0.0  # the snapshot processes' CPU a snapshot (set by the caller)
        self.totals: dict[bool, dict[str, float]] = {True: {}, False: {}}
        self._state = False
        self._since = time.perf_counter()
        self._last = self._read()

    def _read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        steal, busy = _machine()
        hz = os.sysconf("SC_CLK_TCK")
        out["steal ms"], out["VM busy ms"] = steal * 1000 / hz, busy * 1000 / hz
        for name, pids in self._watched.items():
            cpu = wait = 0
            for pid in pids:
                c, w = _schedstat(pid)
                cpu, wait = cpu + c, wait + w
            out[f"{name} CPU ms"], out[f"{name} queued ms"] = cpu / 1e6, wait / 1e6
        return out

    def _charge(self, now: float) -> None:
        current = self._read()
        into = self.totals[self._state]
        into["wall ms"] = into.get("wall ms", 0.0) + (now - self._since) * 1000
        for k, v in current.items():
            into[k] = into.get(k, 0.0) + v - self._last.get(k, 0.0)
        self._last = current

    def poll(self) -> bool:
        busy = self._is_busy()
        if busy != self._state:
            now = time.perf_counter()
            self._charge(now)
            if not busy:
                self.intervals.append((self._since, now))
            self._state, self._since = busy, now
        return busy

    def close(self) -> None:
        now = time.perf_counter()
        self._charge(now)
        if self._state:
            self.intervals.append((self._since, now))
        self._state = False

    def during(self, t0: float, t1: float) -> bool:
        """Did [t0, t1] overlap a snapshot being made?"""
        return any(a < t1 and t0 < b for a, b in self.intervals)

    def report(self) -> str:
        lines = []
        for state, name in ((True, "snapshot being made"), (False, "no snapshot")):
            t = self.totals[state]
            wall = t.get("wall ms", 0.0)
            if not wall:
                continue
            per_s = ", ".join(f"{k} {v * 1000 / wall:.0f}" for k, v in t.items() if k != "wall ms")
            lines.append(f"  {name} ({wall / 1000:.1f} s): per second of it: {per_s}")
        return "\n".join(lines)


# ---- experiments: children that stand in for the snapshot process (issue 15, session 6) --------

# Both start as the snapshot process does: idle priority, then the config on stdin read.
_START = """
import os, sys, time
try:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
except OSError:
    os.setpriority(os.PRIO_PROCESS, 0, 19)
sys.stdin.buffer.read()
"""

_BURN = """
while time.process_time() < {ms} / 1000:
    pass
sys.stdout.write('{{"seq": %s, "after": %s, "replayed": 0}}\\n' % (sys.argv[1], sys.argv[1]))
"""

_IO = """
time.sleep({ms} / 1000)
# a blob of a snapshot's size that no version reads (its format tag is nobody's)
blob = b"bench-not-a-snapshot\\n" + os.urandom({size})
head = b'{{"seq": %s, "after": 0, "replayed": 0}}\\n' % sys.argv[1].encode()
sys.stdout.buffer.write(head + blob)
"""


def stand_in(kind: str, ms: float, size: int) -> Callable[[Path, int], list[str]]:
    code = _START + (_BURN if kind == "burn" else _IO).format(ms=ms, size=size)
    return lambda journal, seq: [sys.executable, "-c", code, str(seq)]


# ---- the daemon side (this process) ----------------------------------------------------------


def hall_yaml(windows: int, serial: dict[str, Any]) -> str:
    """The bench's hall, its serial lines and devices declared in it (as a hall file does)."""
    services = [("BDC", "不动产登记", "A"), ("SB", "社保", "B"), ("GJJ", "公积金", "C"),
                ("ZH", "综合受理", "D")]
    lines = ["version: 1", "hall: {id: bench, name: 基准大厅, timezone: Asia/Shanghai}",
             "services:"]
    lines += [f"  - {{code: {c}, name: {n}, prefix: {p}, digits: 5}}" for c, n, p in services]
    lines.append("windows:")
    lines += [f"  - {{number: {w}, services: [BDC, SB, GJJ, ZH]}}" for w in range(1, windows + 1)]
    lines.append(f"serial: {json.dumps(serial)}")  # YAML reads JSON
    return "\n".join(lines) + "\n"


def serial_section(args: argparse.Namespace, ports: list[tuple[str, str]]) -> dict[str, Any]:
    per_line = args.windows // args.lines
    line_cfg = {"baudrate": args.baud, "gap_ms": GAP_CHARS * BITS_PER_CHAR / args.baud * 1000}
    section: dict[str, Any] = {"lines": [], "devices": []}
    for k, (kp_host, led_host) in enumerate(ports):
        section["lines"] += [{"id": f"kp{k}", "port": kp_host, **line_cfg},
                             {"id": f"led{k}", "port": led_host, **line_cfg}]
        for a in range(1, per_line + 1):
            w = k * per_line + a
            section["devices"] += [
                {"id": f"kp-{w}", "profile": "ff68-keypad", "line": f"kp{k}", "address": a,
                 "window": w},
                {"id": f"strip-{w}", "profile": "at-strip", "line": f"led{k}", "address": a,
                 "window": w},
            ]
    return section


class DayClock:
    """Wall time, or during the fill of a busy day's state, a morning that ends now.

    The fill issues the day's tickets in seconds; with the wall clock they would all fall in
    the last half hour, which no real day does (and what the hall reckons over time, arrival
    rates and service times, would see a rush no hall has). So while filling, ticket i is
    issued at now - hours + i * step (from just after midnight, if now is earlier in the hall's
    day than that), and once filled the clock is the wall clock.
    """

    def __init__(self, tz: Any, hours: float, tickets: int) -> None:
        self.tz = tz
        now = datetime.now(tz)
        # the same hall day: a fill that crossed midnight would start a new day half-way
        self.start = max(now - timedelta(hours=hours), now.replace(hour=0, minute=1))
        self.step = (now - self.start) / max(1, tickets)
        self.filled: int | None = 0  # None: filled, wall time from now on

    def __call__(self) -> datetime:
        if self.filled is None:
            return datetime.now(self.tz)
        return self.start + self.filled * self.step


async def fill_day(engine: Any, clock: DayClock, tickets: int, windows: int,
                   waiting: int) -> None:
    """A busy day's state: `tickets` issued over the morning, all but `waiting` served."""
    codes = ["BDC", "SB", "GJJ", "ZH"]
    engine.hall.eta.enabled = False  # the fill's own estimates are not what is measured
    served = 0
    for first in range(0, tickets, windows):
        batch = range(first, min(first + windows, tickets))
        await asyncio.gather(*(
            engine.execute({"action": "take_ticket", "service": codes[i % 4]}) for i in batch
        ))
        clock.filled = batch[-1] + 1
        due = max(0, clock.filled - waiting) - served
        if due:
            await asyncio.gather(*(serve(engine, w) for w in range(1, min(due, windows) + 1)))
            served += min(due, windows)
    engine.hall.eta.enabled = True
    clock.filled = None


async def serve(engine: Any, window: int) -> None:
    for action in ("call_next", "start_service", "finish"):
        await engine.execute({"action": action, "window": window})


def snapshotting(engine: Any) -> Callable[[], bool]:
    """Is a snapshot being made? (This tree's engine, or main's before session 6.)"""
    snapshots = getattr(engine, "snapshots", None)
    if snapshots is not None:
        return lambda: snapshots.busy
    return lambda: engine._snapshotting is not None


def snapshot_cpu(engine: Any, pid: int | None = None) -> tuple[int | None, float]:
    """(pid, CPU seconds) of the long-lived snapshot process (this tree's; none: 0)."""
    snapshots = getattr(engine, "snapshots", None)
    now = None if snapshots is None else snapshots.process.pid
    if now is None or (pid is not None and now != pid):
        return now, 0.0
    try:
        with open(f"/proc/{now}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return now, 0.0
    return now, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def daemon(args: argparse.Namespace, ports: list[tuple[str, str]], conn: Connection,
                 tmp: Path, watched: dict[str, list[int]],
                 ) -> tuple[list[Sample], LagProbe, LagProbe, Busy]:
    from hallctl.config import parse_config
    from hallctl.drivers.serial_devices import SerialDevices
    from hallctl.engine import HallEngine
    from hallctl.journal import Journal
    from hallctl.logging import configure_logging

    configure_logging(level="warning")
    config = parse_config(hall_yaml(args.windows, serial_section(args, ports)))
    assert config.serial is not None
    journal = Journal(tmp / "journal.db")
    kw = {} if args.snapshot_every is None else {"snapshot_every": args.snapshot_every}
    clock = DayClock(config.hall.tz, 8, args.day_tickets)
    engine = HallEngine(config, journal, secret=b"b" * 32, clock=clock, **kw)  # type: ignore[arg-type]
    from hallctl import snapshot_process

    if args.child != "real":  # an experiment: a stand-in for the snapshot process
        if hasattr(engine, "snapshots"):
            raise SystemExit("--child: stand-ins speak session 5's protocol (one process a "
                             "snapshot); run with BENCH_KEYPRESS_CODE=<a checkout of main>")
        snapshot_process.command = stand_in(args.child, args.child_ms, args.child_bytes)
    engine.recover()
    writer = asyncio.create_task(engine.run())
    devices = SerialDevices(config.serial, engine, config)
    for w in range(1, args.windows + 1):
        await engine.execute({"action": "open_window", "window": w})
    # a busy day's state: what a snapshot pickles and the hall reckons over
    await fill_day(engine, clock, args.day_tickets, args.windows, args.waiting)
    codes = ["BDC", "SB", "GJJ", "ZH"]

    async def load() -> None:
        i = 0
        while True:
            await engine.execute({"action": "take_ticket", "service": codes[i % 4]})
            i += 1
            await asyncio.sleep(1 / args.load)

    idle_probe = await idle(args.idle)  # the same loop, nothing else running yet
    async with devices:
        await asyncio.sleep(1.5)  # lines connected, start-up redraws done
        loader = asyncio.create_task(load())
        busy = Busy(snapshotting(engine), {"daemon": [os.getpid()], **watched})
        probe = LagProbe(child_alive=busy.poll)
        probing = asyncio.create_task(probe.run())
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        alive = snapshot_cpu(engine)
        conn.send("go")
        samples: list[Sample] = await asyncio.to_thread(conn.recv)
        loader.cancel()
        probing.cancel()
        busy.close()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # reaped children (a process a snapshot), and the long-lived one's own counters
        child_cpu = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
                     + snapshot_cpu(engine, alive[0])[1] - alive[1])
    spans = [b - a for a, b in busy.intervals]
    waiting = sum(len(line) for line in engine.hall.state.lines.values())
    print(f"{len(spans)} snapshots made while presses were measured "
          f"({len(engine.hall.state.tickets):,} tickets in the state, {waiting} waiting)")
    if spans:
        print(f"snapshot processes' CPU: {child_cpu * 1000 / len(spans):.0f} ms a snapshot; "
              f"a snapshot being made for {statistics.median(spans) * 1000:.0f} ms (median), "
              f"{sum(spans) / args.seconds:.0%} of the time")
    writer.cancel()
    journal.close()
    busy.child_cpu_ms = child_cpu * 1000 / max(1, len(spans))
    return samples, probe, idle_probe, busy


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=60)
    parser.add_argument("--lines", type=int, default=3,
                        help="keypad lines (and as many strip lines)")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--load", type=float, default=20, help="background tickets per second")
    parser.add_argument("--day-tickets", type=int, default=600,
                        help="tickets issued before the presses (20000: a busy day's state)")
    parser.add_argument("--waiting", type=int, default=200,
                        help="of those, how many are still waiting (the rest were served)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="alternate this checkout and --baseline's this many rounds each "
                        "(one process a run) and print medians and their ratio")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout (e.g. main's, from git archive) for --rounds")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--idle", type=float, default=5,
                        help="seconds of idle-loop baseline before the presses")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the journal goes (default: the system's temp directory; "
                        "/dev/shm takes the disk's fsync out of the share)")
    parser.add_argument("--child", choices=["real", "burn", "io"], default="real",
                        help="an experiment: the snapshot process replaced by one that burns "
                        "--child-ms of CPU at idle priority with no I/O and no blob (burn), or "
                        "that sleeps --child-ms and hands back --child-bytes of blob (io)")
    parser.add_argument("--child-ms", type=float, default=150)
    parser.add_argument("--child-bytes", type=int, default=2_100_000)
    parser.add_argument("--snapshot-every", type=int, default=None,
                        help="events between snapshots (default: the engine's); e.g. 300 to "
                        "have several snapshots under the presses")
    args = parser.parse_args()
    if args.rounds:
        rounds(args)
        return
    per_line = args.windows // args.lines
    wires = []
    ports: list[tuple[str, str]] = []  # host side: (keypad line, strip line)
    dev_ports: list[tuple[str, str, list[int]]] = []
    for k in range(args.lines):
        pair = []
        for _ in range(2):
            proc = subprocess.Popen(
                [sys.executable, "-m", "hallctl.sim.wire", "--baud", str(args.baud),
                 "--bits-per-char", str(BITS_PER_CHAR), "--gap-chars", str(GAP_CHARS)],
                stdout=subprocess.PIPE, text=True, cwd=ROOT,
            )
            assert proc.stdout is not None
            host, dev = proc.stdout.readline().split()
            wires.append(proc)
            pair.append((host, dev))
        ports.append((pair[0][0], pair[1][0]))
        dev_ports.append((pair[0][1], pair[1][1],
                          list(range(k * per_line + 1, (k + 1) * per_line + 1))))
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    dev_proc = ctx.Process(target=devices_main, args=(dev_ports, args.seconds, theirs))
    dev_proc.start()
    assert ours.recv() == "ready"
    try:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            watched = {"devices": [dev_proc.pid or 0], "wires": [w.pid for w in wires]}
            samples, probe, idle_probe, busy = asyncio.run(
                daemon(args, ports, ours, Path(tmp), watched)
            )
    finally:
        dev_proc.join(5)
        for proc in wires:
            proc.terminate()
            proc.wait()
    lat = [s[0] * 1000 for s in samples]
    wire = [wire_time(s[1], args.baud) * 1000 + wire_time(s[2], args.baud) * 1000
            for s in samples]
    own = [a - b for a, b in zip(lat, wire, strict=True)]
    print(f"{len(samples)} presses, {args.windows} windows on {args.lines} keypad + "
          f"{args.lines} strip lines at {args.baud} baud, background {args.load} tickets/s")
    print(f"wire time (key frame + strip frame, {BITS_PER_CHAR} bits/char): "
          f"{statistics.median(wire):.1f} ms")
    print(f"press → strip latency: p50 {pct(lat, 50):.1f} ms  p99 {pct(lat, 99):.1f} ms  "
          f"max {max(lat):.1f} ms")
    print(f"daemon's own share:    p50 {pct(own, 50):.1f} ms  p99 {pct(own, 99):.1f} ms  "
          f"(target < 5 ms)")
    split = {True: [], False: []}  # type: dict[bool, list[float]]
    for sample, o in zip(samples, own, strict=True):
        split[busy.during(sample[3], sample[3] + sample[0])].append(o)
    for state, name in ((True, "while a snapshot was being made"), (False, "with none")):
        if split[state]:
            print(f"  presses {name}: {len(split[state])}, share p50 "
                  f"{pct(split[state], 50):.1f} ms  p99 {pct(split[state], 99):.1f} ms  "
                  f"max {max(split[state]):.1f} ms")
    print("the machine and the processes (CPU, run-queue wait; ms per second):")
    print(busy.report())
    print(f"loop-lag probe, idle loop {args.idle:g} s before the presses: {idle_probe.summary()}")
    print(f"loop-lag probe during the presses: {probe.summary()}")
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("reproduce: .venv/bin/python bench/bench_keypress.py " + " ".join(sys.argv[1:]))
    if args.json:
        print(json.dumps({"p50": pct(own, 50), "p99": pct(own, 99),
                          "p99_snap": pct(split[True], 99) if split[True] else 0.0,
                          "p99_quiet": pct(split[False], 99) if split[False] else 0.0,
                          "n_snap": len(split[True]), "snapshots": len(busy.intervals),
                          "child_cpu_ms": busy.child_cpu_ms,
                          "busy_s": sum(b - a for a, b in busy.intervals),
                          "loop_longest": probe.longest_ms(), "loop_cpu": probe.longest_cpu_ms(),
                          "idle_longest": idle_probe.longest_ms(),
                          "load": os.getloadavg()[0]}))


def rounds(args: argparse.Namespace) -> None:
    """This checkout against another one (--baseline), alternating, one process a run."""
    if args.baseline is None:
        raise SystemExit("--rounds needs --baseline DIR (another checkout of hallctl)")
    argv, skip = [], 0
    for arg in sys.argv[1:]:  # the same arguments, without --rounds N and --baseline DIR
        if skip:
            skip -= 1
        elif arg in ("--rounds", "--baseline"):
            skip = 1
        elif not arg.startswith(("--rounds=", "--baseline=")):
            argv.append(arg)
    roots = {"this": HERE, "baseline": args.baseline.resolve()}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in roots}
    for r in range(args.rounds):
        for name, root in roots.items():
            out = subprocess.run([sys.executable, __file__, *argv, "--json"],
                                 capture_output=True, text=True, check=True, cwd=root,
                                 env={**os.environ, "BENCH_KEYPRESS_CODE": str(root)}).stdout
            res = json.loads(out.strip().splitlines()[-1])
            results[name].append(res)
            print(f"round {r + 1}, {name} ({root}): share p50 {res['p50']:.1f} ms, "
                  f"p99 {res['p99']:.1f} ms (while a snapshot was made: {res['n_snap']:.0f} "
                  f"presses, p99 {res['p99_snap']:.1f} ms; the others {res['p99_quiet']:.1f} ms; "
                  f"{res['snapshots']:.0f} snapshots, {res['child_cpu_ms']:.0f} ms of CPU each, "
                  f"being made {res['busy_s']:.1f} s)"
                  f"; loop longest {res['loop_longest']:.1f} ms, own CPU "
                  f"{res['loop_cpu']:.1f} ms; idle baseline {res['idle_longest']:.1f} ms; "
                  f"load {res['load']:.1f}", flush=True)
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for name, rs in results.items()}
    for name, m in med.items():
        print(f"median, {name}: share p50 {m['p50']:.1f} ms, p99 {m['p99']:.1f} ms "
              f"(while a snapshot was made {m['p99_snap']:.1f} ms, the others "
              f"{m['p99_quiet']:.1f} ms); "
              f"loop longest {m['loop_longest']:.1f} ms, own CPU {m['loop_cpu']:.1f} ms; "
              f"idle baseline {m['idle_longest']:.1f} ms")
    a, b = med["this"], med["baseline"]
    snap = a["p99_snap"] / b["p99_snap"] if b["p99_snap"] else float("nan")
    print(f"ratio this/baseline: share p99 {a['p99'] / b['p99']:.2f} (while a snapshot was "
          f"made {snap:.2f}), "
          f"loop longest {a['loop_longest'] / b['loop_longest']:.2f}")


if __name__ == "__main__":
    main()
