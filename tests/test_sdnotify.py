"""sd_notify: what systemd receives, read from a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hallctl.sdnotify import Notifier, watchdog_interval


@pytest.fixture
def manager(short_tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A stand-in for systemd's notify socket: (receiving socket, NOTIFY_SOCKET value)."""
    path = short_tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        yield sock, str(path)


def _received(sock: socket.socket) -> dict[str, str]:
    lines = sock.recv(4096).decode().split("\n")
    return dict(line.split("=", 1) for line in lines)


def test_ready_tells_the_manager_ready_and_the_main_pid(
    manager: tuple[socket.socket, str],
) -> None:
    sock, address = manager
    notifier = Notifier({"NOTIFY_SOCKET": address})
    assert notifier.enabled
    assert notifier.ready() is True
    assert _received(sock) == {"READY": "1", "MAINPID": str(os.getpid())}


def test_ready_can_carry_a_status(manager: tuple[socket.socket, str]) -> None:
    sock, address = manager
    Notifier({"NOTIFY_SOCKET": address}).ready("serving 12 windows")
    assert _received(sock)["STATUS"] == "serving 12 windows"


def test_watchdog_stopping_and_status_each_send_one_datagram(
    manager: tuple[socket.socket, str],
) -> None:
    sock, address = manager
    notifier = Notifier({"NOTIFY_SOCKET": address})
    assert notifier.watchdog()
    assert notifier.status("broker down, journaling")
    assert notifier.stopping()
    assert _received(sock) == {"WATCHDOG": "1"}
    assert _received(sock) == {"STATUS": "broker down, journaling"}
    assert _received(sock) == {"STOPPING": "1"}


def test_a_status_with_newlines_cannot_inject_other_assignments(
    manager: tuple[socket.socket, str],
) -> None:
    sock, address = manager
    Notifier({"NOTIFY_SOCKET": address}).status("paper out\nREADY=1")
    assert _received(sock) == {"STATUS": "paper out READY=1"}


def test_abstract_socket_addresses_work() -> None:
    name = f"hallctl-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2)
        assert Notifier({"NOTIFY_SOCKET": f"@{name}"}).watchdog()
        assert _received(sock) == {"WATCHDOG": "1"}


def test_without_notify_socket_everything_is_a_quiet_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert notifier.stopping() is False
    assert notifier.status("x") is False


def test_a_vanished_manager_is_reported_not_raised(short_tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(short_tmp_path / "gone")})
    assert notifier.enabled
    assert notifier.ready() is False


def test_the_environment_is_read_by_default(
    manager: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, address = manager
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = Notifier()
    assert notifier.watchdog()
    assert _received(sock) == {"WATCHDOG": "1"}
    assert notifier.watchdog_interval() == 15.0
    assert watchdog_interval() == 15.0


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),  # WatchdogSec=30 → ping every 15 s
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # someone else's watchdog
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_the_deadline_when_it_is_ours(
    env: dict[str, str], expected: float | None
) -> None:
    assert watchdog_interval(env) == expected
    assert Notifier(env).watchdog_interval() == expected
