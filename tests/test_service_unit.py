"""The systemd unit: its sandbox rating, its documentation link, and one place (the hall file)
that says where the daemon lives, so the operator's `hallctl status` finds the unit's daemon."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hall.conftest import SMALL_HALL

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "hallctl.service"
HALLCTL = [sys.executable, "-m", "hallctl.cli"]


def _directives(name: str) -> list[str]:
    return [
        ln.split("=", 1)[1]
        for ln in UNIT.read_text().splitlines()
        if ln.startswith(f"{name}=")
    ]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_unit_rates_ok_in_systemd_analyze_security(tmp_path: Path) -> None:
    unit = tmp_path / "hallctl.service"
    shutil.copy(UNIT, unit)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    m = re.search(r"Overall exposure level for hallctl\.service: ([\d.]+) (\w+)", result.stdout)
    assert m, result.stdout + result.stderr
    assert float(m.group(1)) <= 2.0 and m.group(2) == "OK", m.group(0)


def test_the_documentation_link_is_a_file_the_install_steps_create() -> None:
    (doc,) = _directives("Documentation")
    path = doc.removeprefix("file://")
    operations = (REPO / "docs" / "operations.md").read_text()
    assert re.search(rf"install .*docs/operations\.md {re.escape(path)}\b", operations), path


def test_the_unit_does_not_move_the_data_dir_behind_the_hall_files_back() -> None:
    assert not [e for e in _directives("Environment") if e.startswith("HALLCTL_DATA_DIR")]
    assert _directives("StateDirectory") == ["hallctl"]



def test_the_install_steps_put_the_units_directory_in_the_hall_file(tmp_path: Path) -> None:
    from hallctl.config import load_config
    from hallctl.daemon import socket_path

    operations = (REPO / "docs" / "operations.md").read_text()
    (step,) = [ln for ln in operations.splitlines() if ln.startswith("sed -i 's|^data_dir:")]
    hall = tmp_path / "hall.yaml"
    shutil.copy(REPO / "config" / "example.yaml", hall)
    subprocess.run(step.replace("/etc/hallctl/hall.yaml", str(hall)), shell=True, check=True)
    cfg = load_config(hall, env={})
    assert socket_path(cfg) == Path("/var/lib/hallctl/control.sock")


def _hall_file(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "hall.yaml"
    path.write_text(SMALL_HALL + f"data_dir: {data_dir}\n", encoding="utf-8")
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLCTL_")}
    env.pop("STATE_DIRECTORY", None)
    env.update(extra)
    return env


def test_run_refuses_a_hall_file_whose_data_dir_is_not_the_units(tmp_path: Path) -> None:
    state = tmp_path / "state"
    hall = _hall_file(tmp_path, tmp_path / "elsewhere")
    result = subprocess.run(
        [*HALLCTL, "run", "-c", str(hall)], env=_env(STATE_DIRECTORY=str(state)),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert f"data_dir: {state}" in result.stderr and str(hall) in result.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_status_with_the_hall_file_finds_the_units_daemon(tmp_path: Path) -> None:
    state = tmp_path / "state"
    hall = _hall_file(tmp_path, state)
    daemon = subprocess.Popen(
        [*HALLCTL, "run", "-c", str(hall)], env=_env(STATE_DIRECTORY=str(state)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (state / "control.sock").exists():
            assert daemon.poll() is None and time.monotonic() < deadline, daemon.stderr
            time.sleep(0.1)
        # the operator's shell: no STATE_DIRECTORY, no HALLCTL_DATA_DIR, only the hall file
        status = subprocess.run(
            [*HALLCTL, "status", "-c", str(hall)], env=_env(),
            capture_output=True, text=True, timeout=30,
        )
        assert status.returncode == 0, status.stderr
        assert "测试大厅" in status.stdout
        # `hallctl status | head`: the reader is gone before hallctl writes
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            piped = subprocess.run(
                [*HALLCTL, "status", "-c", str(hall)], env=_env(), stdout=write_end,
                stderr=subprocess.PIPE, text=True, timeout=30,
            )
        finally:
            os.close(write_end)
        assert piped.stderr == ""
        assert piped.returncode == 141  # as a shell reports a command ended by SIGPIPE
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


def _syscall_sets() -> dict[str, list[str]]:
    text = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout
    groups: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("@"):
            current = line.split()[0]
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.split()[0])
    return groups


def _expand(groups: dict[str, list[str]], name: str) -> set[str]:
    out: set[str] = set()
    for member in groups.get(name, []):
        out |= _expand(groups, member) if member.startswith("@") else {member}
    return out


def _allowed_calls(groups: dict[str, list[str]]) -> set[str]:
    """The unit's SystemCallFilter= lines in order: the first is the allow list, then a `~`
    line takes calls out of it and a plain line puts them back (as systemd reads them)."""

    def calls(line: str) -> set[str]:
        return set().union(*(
            _expand(groups, g) if g.startswith("@") else {g} for g in line.split()
        ))

    first, *more = _directives("SystemCallFilter")
    assert not first.startswith("~")
    allowed = calls(first)
    for line in more:
        names = calls(line.removeprefix("~"))
        allowed = allowed - names if line.startswith("~") else allowed | names
    return allowed


def test_the_unit_gives_back_only_the_snapshot_childs_priority_call() -> None:
    """@resources stays denied but for sched_setscheduler, which the snapshot process
    (hallctl/snapshot_process.py) uses to lower its own priority (no privilege needed);
    setrlimit, setpriority & co. stay refused."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("needs systemd-analyze")
    groups = _syscall_sets()
    resources = _expand(groups, "@resources")
    assert resources & _allowed_calls(groups) == {"sched_setscheduler"}


@pytest.mark.skipif(
    shutil.which("strace") is None or shutil.which("systemd-analyze") is None,
    reason="needs strace and systemd-analyze",
)
def test_the_daemon_makes_only_system_calls_the_unit_allows(tmp_path: Path) -> None:
    """The demo (serial ptys, Modbus TCP, MQTT, SQLite) under strace: every system call its
    process makes is in the unit's SystemCallFilter; none maps writable+executable memory."""
    groups = _syscall_sets()
    allowed = _allowed_calls(groups)
    trace = tmp_path / "trace"
    subprocess.run(
        ["strace", "-f", "-qq", "-o", str(trace), *HALLCTL, "demo", "--no-ui", "--duration", "5",
         "--speed", "30", "--modbus"],
        env=_env(HALLCTL_DEMO_DIR=str(tmp_path / "demo")), capture_output=True, timeout=120,
        check=True,
    )
    calls: dict[str, set[int]] = {}
    broker_pids = set()
    for line in trace.read_text(errors="replace").splitlines():
        m = re.match(r"(\d+) +([a-z_0-9]+)\(", line)
        if m is None:
            continue
        pid, name = int(m.group(1)), m.group(2)
        if name == "execve" and "mosquitto" in line:
            broker_pids.add(pid)  # the embedded broker is the demo's, not the daemon's
        calls.setdefault(name, set()).add(pid)
        assert not ("PROT_WRITE" in line and "PROT_EXEC" in line), line
    used = {name for name, pids in calls.items() if pids - broker_pids}
    # SQLite chowns its journal files only when running as root, which the unit never is;
    # numpy's OpenBLAS asks mbind for NUMA placement when the day's report is written: the unit
    # refuses it (EPERM) and OpenBLAS goes on (test_supervision_outputs checks under strace)
    unexpected = used - allowed - ({"fchown"} if os.geteuid() == 0 else set()) - {"mbind"}
    assert unexpected == set()
