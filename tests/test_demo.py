"""The demo end to end: `hallctl demo` in a subprocess, on its real ptys and (when installed)
its embedded Mosquitto, and the demo hall file passing `hallctl check`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HALLCTL = [sys.executable, "-m", "hallctl.cli"]


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLCTL_")}
    return subprocess.run(
        [*HALLCTL, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def _number(pattern: str, text: str) -> int:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in:\n{text}"
    return int(m.group(1))


def test_demo_hall_file_checks() -> None:
    result = _run("check", "-c", "config/demo.yaml", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_demo_runs_and_summarises() -> None:
    result = _run("demo", "--no-ui", "--duration", "12", "--speed", "30", timeout=90)
    out = result.stdout
    assert result.returncode == 0, f"{out}\n{result.stderr}"
    assert "--- demo summary" in out
    assert _number(r"tickets issued: (\d+)", out) > 0
    assert _number(r"calls: (\d+)", out) > 0
    assert _number(r"evaluations: (\d+)", out) > 0
    assert "叫号" in out  # --no-ui prints a line per call
    # the printer simulator decoded a ticket that the daemon printed over the pty
    assert _number(r"tickets printed: (\d+)", out) > 0
    m = re.search(r"last printed ticket: (.+)", out)
    assert m and re.search(r"\b[A-H]\d{3}\b", m.group(1)), out
    # the day's 电子监察 report is written at the end, as the daemon does after closing time
    written = re.search(r"report: (.+)", out)
    assert written and "not written" not in written.group(1), out
    assert all(Path(p).stat().st_size > 0 for p in written.group(1).split(", "))


def test_demo_with_modbus_devices_polls_the_pymodbus_simulator() -> None:
    result = _run("demo", "--no-ui", "--duration", "8", "--speed", "30", "--modbus", timeout=90)
    out = result.stdout
    assert result.returncode == 0, f"{out}\n{result.stderr}"
    assert _number(r"modbus: (\d+) requests served", out) > 10
    assert _number(r"tickets issued: (\d+)", out) > 0
