"""Wall time of the CLI's client commands against a running daemon, with their baselines.

    .venv/bin/python bench/bench_cli.py [--runs 15]

Hall file: config/example.yaml as bench_engine.busy_example_hall makes it (no opening hours,
so tickets can be taken at any time of the bench; 4-digit numbers, no caps), its data
directory in a temporary folder, and no broker: the daemon keeps retrying MQTT, as it does
when the broker is away. Every figure is the
median of --runs process runs, interleaved so the machine's noise hits all alike. Baselines
in the same run: the interpreter starting and doing nothing (`python -c pass`), and a raw
client (a few lines: socket, JSON, no hallctl import) asking for the same status.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import busy_example_hall  # noqa: E402

from hallctl.control_client import ControlError, control_request_sync  # noqa: E402

RAW_CLIENT = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"action":"status"}\\n')
data = b""
while not data.endswith(b"\\n"):
    data += s.recv(65536)
print(len(json.loads(data)["result"]))
"""


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        hall = Path(d) / "hall.yaml"
        text = (ROOT / "config" / "example.yaml").read_text(encoding="utf-8")
        hall.write_text(busy_example_hall(text, f"{d}/data"), encoding="utf-8")
        env = dict(os.environ, HALLCTL_MQTT_URL="mqtt://127.0.0.1:9")
        env.pop("HALLCTL_DATA_DIR", None)
        sock = Path(d) / "data" / "control.sock"
        t0 = time.perf_counter()
        daemon = subprocess.Popen(
            [sys.executable, "-m", "hallctl.cli", "run", "-c", str(hall)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
        )
        try:
            while True:
                try:
                    control_request_sync(sock, {"action": "status"}, 2)
                    break
                except ControlError:
                    time.sleep(0.01)
            ready = time.perf_counter() - t0
            hallctl = [sys.executable, "-m", "hallctl.cli"]
            cases = {
                "baseline: python -c pass": [sys.executable, "-c", "pass"],
                "baseline: raw client (socket + JSON)": [
                    sys.executable, "-c", RAW_CLIENT, str(sock)],
                "hallctl status": [*hallctl, "status", "-c", str(hall)],
                "hallctl ticket BDC": [*hallctl, "ticket", "BDC", "-c", str(hall)],
            }
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, cmd in cases.items():
                    times[name].append(wall(cmd, env))
        finally:
            daemon.terminate()
            daemon.wait()
    med = {name: statistics.median(t) * 1000 for name, t in times.items()}
    raw = med["baseline: raw client (socket + JSON)"]
    print(f"medians of {args.runs} interleaved runs each")
    for name, ms in med.items():
        note = "" if name.startswith("baseline") else f"  = {ms / raw:.1f}× the raw client"
        print(f"{name:40} {ms:6.0f} ms{note}")
    print(f"`hallctl run` start → answering on its socket (example hall): {ready:.2f} s")


if __name__ == "__main__":
    main()
