"""The command line against a running daemon, over its local control socket (no broker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.halls import DaemonProcess, cli, write_hall


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("cli")
    config = write_hall(tmp)
    daemon = DaemonProcess(config, tmp / "daemon.log")
    daemon.start()
    yield config
    assert daemon.stop() == 0




def cli_json(config: Path, *args: str) -> dict:
    out = cli(config, *args, "--json")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_window_serves_a_citizen_from_the_command_line(hall: Path) -> None:
    assert "window 1: 开放" in cli(hall, "open", "1").stdout
    issued = cli(hall, "ticket", "BDC")
    assert issued.returncode == 0 and issued.stdout.startswith("A0001  不动产登记")
    called = cli(hall, "call", "1")
    assert "请A0001号到1号窗口办理" in called.stdout
    assert cli(hall, "recall", "1").stdout.startswith("重呼 A0001")
    assert cli(hall, "start", "1").returncode == 0
    assert "A0001: 满意 (4)" in cli(hall, "evaluate", "1", "满意").stdout
    assert cli(hall, "finish", "1", "--case", "BJ-1").returncode == 0


def test_green_channel_is_called_first(hall: Path) -> None:
    cli(hall, "ticket", "SB")
    green = cli_json(hall, "ticket", "SB", "--green")["result"]["ticket"]
    cli(hall, "open", "3")
    assert cli_json(hall, "call", "3")["result"]["ticket"] == green


def test_transfer_suspend_callback_pause(hall: Path) -> None:
    cli(hall, "open", "2")
    cli(hall, "ticket", "BDC")
    cli(hall, "call", "2")
    assert "→ 社保 (front of the line" in cli(hall, "transfer", "2", "SB", "--front").stdout
    cli(hall, "ticket", "BDC")
    cli(hall, "call", "2")
    assert cli(hall, "suspend", "2").returncode == 0
    assert cli(hall, "callback", "2").returncode == 0
    assert "暂停" in cli(hall, "pause", "2", "--reason", "午休").stdout
    assert cli(hall, "resume", "2").returncode == 0


def test_status_human_and_json(hall: Path) -> None:
    human = cli(hall, "status").stdout
    assert "系统测试大厅" in human and "1号窗口" in human and "不动产登记" in human
    data = cli_json(hall, "status")["result"]
    assert data["hall"] == "sys-hall" and data["tickets_today"] >= 1


def test_errors_are_clear_and_exit_non_zero(hall: Path) -> None:
    bad = cli(hall, "call", "42")
    assert bad.returncode == 1
    assert bad.stdout.strip() == "error [unknown_window]: Unknown window: 42 / 未知窗口"
    assert cli_json(hall, "ticket", "NOPE")["error"]["code"] == "unknown_service"
    assert cli(hall, "evaluate", "1", "great").returncode == 1


def test_no_daemon_is_a_clear_error(tmp_path: Path) -> None:
    config = write_hall(tmp_path)
    out = cli(config, "status")
    assert out.returncode == 2 and "not running" in out.stderr
