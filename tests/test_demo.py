"""The demo end to end: `hallctl demo` in a subprocess, on its real ptys and (when installed)
its embedded Mosquitto, and the demo hall file passing `hallctl check`. Each demo gets its own
directory (HALLCTL_DEMO_DIR), as two users on one machine would."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HALLCTL = [sys.executable, "-m", "hallctl.cli"]


def _env(demo_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLCTL_")}
    if demo_dir is not None:
        env["HALLCTL_DEMO_DIR"] = str(demo_dir)
    return env


def _run(
    *args: str, timeout: float, demo_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HALLCTL, *args], cwd=REPO, env=_env(demo_dir), capture_output=True, text=True,
        timeout=timeout,
    )


def _number(pattern: str, text: str) -> int:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in:\n{text}"
    return int(m.group(1))


def test_demo_hall_file_checks() -> None:
    result = _run("check", "-c", "hallctl/data/demo.yaml", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_demo_on_a_pipe_prints_plain_lines_and_summarises(tmp_path: Path) -> None:
    # no --no-ui: stdout is a pipe, so the demo falls back to a line per call by itself
    result = _run("demo", "--duration", "12", "--speed", "30", timeout=90, demo_dir=tmp_path)
    out = result.stdout
    assert result.returncode == 0, f"{out}\n{result.stderr}"
    assert "\x1b[" not in out  # no cursor movements or colours in a log file
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
    # the staff's pages, with logins that work (their hashes are in the demo's data directory)
    login = re.search(r"(http://\S+)/staff\s+工号 (\d+), password (\S+)", out)
    assert login and "/supervisor" in out and "/reports/" in out, out
    from hallctl.accounts.credentials import Credentials
    from hallctl.accounts.passwords import verify

    stored = Credentials(tmp_path / "data" / "credentials.json").hash_for("S01")
    assert login.group(2) == "0101" and verify(stored, login.group(3))


def test_demo_with_modbus_devices_polls_the_pymodbus_simulator(tmp_path: Path) -> None:
    result = _run(
        "demo", "--no-ui", "--duration", "8", "--speed", "30", "--modbus", timeout=90,
        demo_dir=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, f"{out}\n{result.stderr}"
    assert _number(r"modbus: (\d+) requests served", out) > 10
    assert _number(r"tickets issued: (\d+)", out) > 0
    # the display profile's `default:` covers an idle window: no warning for it
    assert "modbus.template_failed" not in result.stderr


def _wait_for(proc: subprocess.Popen[str], pattern: str, within: float) -> str:
    """Read the demo's stdout until `pattern` shows up; return what was read."""
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"{pattern!r} not in:\n{seen}")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_second_demo_refuses_and_a_hung_up_demo_cleans_up(tmp_path: Path) -> None:
    first = subprocess.Popen(
        [*HALLCTL, "demo", "--no-ui", "--speed", "30"], cwd=REPO, env=_env(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        seen = _wait_for(first, r"叫号 ", within=60)
        journal = tmp_path / "data" / "journal.db"
        links = [tmp_path / "dev" / name for name in ("keypads", "strips", "printer")]
        assert journal.exists() and all(link.is_symlink() for link in links)
        size = journal.stat().st_size

        # the operator's view of the running demo: serial lines with their frame counters
        status = _run("status", "--socket", str(tmp_path / "data" / "control.sock"), timeout=30)
        assert status.returncode == 0, status.stderr
        assert _number(r"serial line bus: connected, (\d+) frames", status.stdout) > 0

        second = _run("demo", "--no-ui", "--duration", "5", timeout=60, demo_dir=tmp_path)
        assert second.returncode == 1
        assert "another hallctl demo" in second.stderr and str(tmp_path) in second.stderr
        assert journal.exists() and journal.stat().st_size >= size  # not wiped

        m = re.search(r"127\.0\.0\.1:(\d+)", seen)
        broker_port = int(m.group(1)) if m else None
        first.send_signal(signal.SIGHUP)  # the terminal closed
        out, err = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert "--- demo summary" in out, err
    assert "Traceback" not in err
    assert not any(link.exists() or link.is_symlink() for link in links)
    if broker_port is not None:
        assert not _port_open(broker_port)  # the embedded Mosquitto is gone too

    again = _run("demo", "--no-ui", "--duration", "3", "--speed", "30", timeout=60,
                 demo_dir=tmp_path)
    assert again.returncode == 0, again.stderr


def _run_on_a_terminal(tmp_path: Path, columns: int, seconds: float) -> str:
    """The demo on a real pty of the given width; what the terminal received, ANSI removed."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = _env(tmp_path) | {"TERM": "xterm-256color", "COLUMNS": str(columns)}
    proc = subprocess.Popen(
        [*HALLCTL, "demo", "--duration", str(seconds), "--speed", "30"], cwd=REPO, env=env,
        stdin=slave, stdout=slave, stderr=subprocess.PIPE,
    )
    os.close(slave)
    received = b""
    deadline = time.monotonic() + seconds + 90  # a demo that does not stop fails, not hangs
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the demo closed the terminal's last open end
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.terminate()  # still running past its --duration: stop it, and say so below
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""
    assert proc.returncode == 0, err
    text = received.decode("utf-8", errors="replace")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)


def test_the_live_view_on_an_80_column_terminal(tmp_path: Path) -> None:
    from hallctl.cli_output import width

    screen = _run_on_a_terminal(tmp_path, 80, 5)
    assert "叫号 last calls" in screen and "窗口 windows" in screen  # the live view, not lines
    assert "--- demo summary" in screen
    # the live view is redrawn in place, so it must fit: a wider line would wrap and break it
    # (the plain lines before and after it may wrap like any printed text)
    live = screen[screen.index("hallctl demo ×30") : screen.index("--- demo summary")]
    lines = re.split(r"\r?\n|\r", live)
    assert max(width(line) for line in lines) <= 80, max(lines, key=width)


def test_a_demo_killed_outright_leaves_nothing_that_stops_the_next(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"HALLCTL_MQTT_URL": "mqtt://127.0.0.1:9"}  # no broker to orphan
    first = subprocess.Popen(
        [*HALLCTL, "demo", "--no-ui", "--speed", "30"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        _wait_for(first, r"叫号 ", within=60)
    finally:
        first.kill()  # SIGKILL: no clean-up can run
        first.communicate(timeout=30)
    assert (tmp_path / "dev" / "keypads").is_symlink()  # its pty links are left behind
    again = subprocess.run(
        [*HALLCTL, "demo", "--no-ui", "--duration", "3", "--speed", "30"], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert "--- demo summary" in again.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_every_stop_signal_cleans_up(tmp_path: Path, sig: signal.Signals) -> None:
    demo = subprocess.Popen(
        [*HALLCTL, "demo", "--no-ui", "--speed", "30"], cwd=REPO, env=_env(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        seen = _wait_for(demo, r"叫号 ", within=60)
        demo.send_signal(sig)
        out, err = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert "--- demo summary" in out and "Traceback" not in err
    assert not list((tmp_path / "dev").iterdir())
    m = re.search(r"127\.0\.0\.1:(\d+)", seen)
    if m:
        assert not _port_open(int(m.group(1)))
