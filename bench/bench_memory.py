"""Resident memory of `hallctl run` on the example hall: ready, and after a 20,000-ticket day.

    .venv/bin/python bench/bench_memory.py              # 3 rounds, about 2 minutes
    .venv/bin/python bench/bench_memory.py --rounds 1 --tickets 5000
    .venv/bin/python bench/bench_memory.py --rounds 1 --served  # every ticket also served

Hall file: config/example.yaml made able to issue 20,000 tickets (`busy_example_hall` in
bench_engine: 4-digit numbers, no daily caps, no opening hours); MQTT points at a closed port,
so the link keeps retrying as it would with the broker down. Eight clients issue the tickets
through the control socket; RSS is read from /proc once the daemon answers, and after the
day (a snapshot included).

Baselines in the same run, alternated with the daemon round by round:
- the interpreter with asyncio imported: the least any asyncio daemon costs here;
- the same interpreter importing the third-party libraries `hallctl run` imports for this hall
  (structlog, pydantic, ruamel.yaml, paho-mqtt, aiomqtt, sqlite3): what is left over
  them is hallctl's own code, its models of the hall file and the day's state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import daemon_rss_mb  # noqa: E402

FLOOR_MB = 60.0
LIBRARIES = ("asyncio", "sqlite3", "structlog", "pydantic", "ruamel.yaml", "paho.mqtt.client",
             "aiomqtt")  # no pyserial: tests/test_daemon_imports.py keeps it out
PROBE = (
    "import sys\n"
    "for name in ('rich', 'greenlet'):\n"  # as `hallctl run` does (hallctl/cli.py)
    "    sys.modules[name] = None\n"
    "import importlib\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module(name)\n"
    "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')))\n"
)


def baseline_mb(libraries: tuple[str, ...]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *libraries],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds, baselines and daemon alternated")
    ap.add_argument("--tickets", type=int, default=20_000, help="tickets in the day")
    ap.add_argument(
        "--served", action="store_true",
        help="a fuller day: every window open, every ticket then called, served and finished",
    )  # fmt: skip
    args = ap.parse_args()

    load = os.getloadavg()
    bare, libs, ready, after = [], [], [], []
    for _ in range(args.rounds):
        bare.append(baseline_mb(("asyncio",)))
        libs.append(baseline_mb(LIBRARIES))
        r, a = daemon_rss_mb(args.tickets, served=args.served)
        ready.append(r)
        after.append(a)

    def show(xs: list[float]) -> str:
        return f"{statistics.median(xs):5.1f} MB  (rounds: {', '.join(f'{x:.1f}' for x in xs)})"

    lib = statistics.median(libs)
    print(f"== resident memory, {args.rounds} rounds, load {load[0]:.1f} {load[1]:.1f}")
    print(f"baseline: interpreter + asyncio               {show(bare)}")
    print(f"baseline: + the libraries hallctl run imports  {show(libs)}")
    print(f"hallctl run, ready                             {show(ready)}  "
          f"= {statistics.median(ready) / lib:.2f}x the libraries")
    day = f"{args.tickets:,} tickets" + (" served" if args.served else "")
    print(f"hallctl run, after {day:24s}    {show(after)}  "
          f"= {statistics.median(after) / lib:.2f}x the libraries; floor {FLOOR_MB:.0f} MB: "
          f"{'met' if statistics.median(after) <= FLOOR_MB else 'NOT met'}")
    print(f"the day's growth: {statistics.median(after) - statistics.median(ready):.1f} MB; "
          f"hallctl over the libraries at ready: {statistics.median(ready) - lib:.1f} MB")


if __name__ == "__main__":
    main()
