"""The local control channel, over a real UNIX socket, as the CLI and an operator use it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
import structlog

from hallctl.control import (
    ControlError,
    ControlServer,
    ControlUnavailable,
    control_request,
    control_request_sync,
)


async def echo(request: dict[str, Any]) -> dict[str, Any]:
    """A stand-in hall: answers with what it was asked."""
    if request.get("action") == "explode":
        raise RuntimeError("boom")
    return {"ok": True, "result": {"echo": request}}


@pytest.fixture
def sock(short_tmp_path: Path) -> Path:
    return short_tmp_path / "control.sock"


async def _conversation(path: Path, payload: bytes, answers: int) -> list[dict[str, Any]]:
    """Write raw bytes on one connection and read ``answers`` lines back."""
    reader, writer = await asyncio.open_unix_connection(str(path), limit=1024 * 1024)
    try:
        writer.write(payload)
        await writer.drain()
        async with asyncio.timeout(5):
            return [json.loads(await reader.readline()) for _ in range(answers)]
    finally:
        writer.close()
        await writer.wait_closed()


def _exists(path: Path) -> bool:
    return path.exists()


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _read(path: Path) -> str:
    return path.read_text()


# -- requests and answers -------------------------------------------------------------------------


async def test_a_request_gets_the_handler_s_answer(sock: Path) -> None:
    async with ControlServer(sock, echo):
        answer = await control_request(sock, {"action": "status", "window": "5号窗口"})
    assert answer == {"ok": True, "result": {"echo": {"action": "status", "window": "5号窗口"}}}


async def test_the_sync_client_gets_the_same_answer(sock: Path) -> None:
    async with ControlServer(sock, echo):
        # The CLI is synchronous; run it in a thread so this loop can serve it.
        answer = await asyncio.to_thread(control_request_sync, sock, {"action": "status"}, 5.0)
    assert answer == {"ok": True, "result": {"echo": {"action": "status"}}}


async def test_one_connection_carries_several_requests_answered_in_order(sock: Path) -> None:
    lines = b"".join(
        json.dumps({"action": "call_next", "window": n}).encode() + b"\n" for n in range(1, 6)
    )
    async with ControlServer(sock, echo):
        answers = await _conversation(sock, lines, 5)
    assert [a["result"]["echo"]["window"] for a in answers] == [1, 2, 3, 4, 5]


async def test_a_slow_request_does_not_hold_up_another_connection(sock: Path) -> None:
    release = asyncio.Event()

    async def handler(request: dict[str, Any]) -> dict[str, Any]:
        if request["action"] == "slow":
            await release.wait()
        return {"ok": True, "result": request["action"]}

    async with ControlServer(sock, handler):
        slow = asyncio.create_task(control_request(sock, {"action": "slow"}))
        async with asyncio.timeout(5):
            assert await control_request(sock, {"action": "status"}) == {
                "ok": True,
                "result": "status",
            }
        assert not slow.done()
        release.set()
        assert (await slow)["result"] == "slow"


async def test_a_last_request_without_newline_is_answered_at_end_of_input(sock: Path) -> None:
    async with ControlServer(sock, echo):
        reader, writer = await asyncio.open_unix_connection(str(sock))
        writer.write(b'{"action": "status"}')
        writer.write_eof()
        async with asyncio.timeout(5):
            answer = json.loads(await reader.readline())
        writer.close()
    assert answer["ok"] is True


# -- bad input ------------------------------------------------------------------------------------


async def test_bad_json_is_answered_and_the_connection_goes_on(sock: Path) -> None:
    async with ControlServer(sock, echo):
        bad, good = await _conversation(sock, b'{"action": \n{"action": "status"}\n', 2)
    assert bad["ok"] is False and bad["error"]["code"] == "bad_json"
    assert bad["error"]["message"]
    assert good["ok"] is True


@pytest.mark.parametrize("payload", [b"[1, 2]\n", b'"status"\n', b"42\n", b"null\n"])
async def test_a_request_must_be_an_object(sock: Path, payload: bytes) -> None:
    async with ControlServer(sock, echo):
        [answer] = await _conversation(sock, payload, 1)
    assert answer["error"]["code"] == "bad_request"


async def test_invalid_utf8_is_bad_json(sock: Path) -> None:
    async with ControlServer(sock, echo):
        [answer] = await _conversation(sock, b'{"action": "\xff"}\n', 1)
    assert answer["error"]["code"] == "bad_json"


async def test_blank_lines_are_ignored(sock: Path) -> None:
    async with ControlServer(sock, echo):
        [answer] = await _conversation(sock, b'\n  \r\n{"action": "status"}\n', 1)
    assert answer["ok"] is True


async def test_an_over_long_line_is_refused_once_and_the_next_request_is_served(
    sock: Path,
) -> None:
    huge = b'{"action": "take_ticket", "pad": "' + b"x" * (200 * 1024) + b'"}\n'
    async with ControlServer(sock, echo):
        refused, served = await _conversation(sock, huge + b'{"action": "status"}\n', 2)
    assert refused == {
        "ok": False,
        "error": {"code": "line_too_long", "message": "a request line may be at most 65536 bytes"},
    }
    assert served["result"]["echo"] == {"action": "status"}


async def test_a_line_just_within_the_limit_is_served(sock: Path) -> None:
    prefix, suffix = b'{"action": "status", "pad": "', b'"}'
    line = prefix + b"x" * (64 * 1024 - len(prefix) - len(suffix)) + suffix
    assert len(line) == 64 * 1024
    async with ControlServer(sock, echo):
        [answer] = await _conversation(sock, line + b"\n", 1)
    assert answer["ok"] is True


async def test_a_failing_handler_answers_internal_is_logged_and_the_server_keeps_going(
    sock: Path,
) -> None:
    async with ControlServer(sock, echo):
        with structlog.testing.capture_logs() as logs:
            failed = await control_request(sock, {"action": "explode"})
        after = await control_request(sock, {"action": "status"})
    assert failed["ok"] is False and failed["error"]["code"] == "internal"
    assert "RuntimeError" in failed["error"]["message"]
    [entry] = [e for e in logs if e["event"] == "control.handler_failed"]
    assert entry["action"] == "explode" and entry["log_level"] == "error"
    assert after["ok"] is True


async def test_an_answer_that_cannot_be_sent_is_an_internal_error(sock: Path) -> None:
    async def handler(request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "result": {1, 2}}  # a set is not JSON

    async with ControlServer(sock, handler):
        answer = await control_request(sock, {"action": "status"})
    assert answer["error"]["code"] == "internal"


# -- the socket file ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o660, 0o600])
async def test_the_socket_gets_the_requested_permissions(sock: Path, mode: int) -> None:
    async with ControlServer(sock, echo, mode=mode):
        st = os.stat(sock)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == mode


async def test_the_socket_is_removed_on_exit_even_with_a_client_connected(sock: Path) -> None:
    async with ControlServer(sock, echo):
        reader, writer = await asyncio.open_unix_connection(str(sock))
        await control_request(sock, {"action": "status"})  # the server is busy with both
    assert not _exists(sock)
    async with asyncio.timeout(5):
        assert await reader.read() == b"", "the idle client was disconnected"
    writer.close()


async def test_a_stale_socket_from_a_crashed_run_is_replaced(sock: Path) -> None:
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(sock))  # the file stays when the process dies without cleaning up
    crashed.close()
    assert _exists(sock)
    async with ControlServer(sock, echo):
        assert (await control_request(sock, {"action": "status"}))["ok"] is True


async def test_a_live_daemon_s_socket_is_not_stolen(sock: Path) -> None:
    async with ControlServer(sock, echo):
        with pytest.raises(ControlError, match="already listening"):
            async with ControlServer(sock, echo):
                pass
        assert (await control_request(sock, {"action": "status"}))["ok"] is True


async def test_a_file_that_is_not_a_socket_is_left_alone(sock: Path) -> None:
    content = "journal backup, do not delete"
    _write(sock, content)
    with pytest.raises(ControlError, match="not a socket"):
        async with ControlServer(sock, echo):
            pass
    assert _read(sock) == content


async def test_a_path_too_long_for_a_unix_socket_is_a_clear_error(short_tmp_path: Path) -> None:
    path = short_tmp_path / ("d" * 120) / "control.sock"
    with pytest.raises(ControlError, match="too long"):
        async with ControlServer(path, echo):
            pass


# -- the client when the daemon is not there ------------------------------------------------------


async def test_clients_say_the_daemon_is_not_running_when_there_is_no_socket(sock: Path) -> None:
    with pytest.raises(ControlUnavailable, match=r"not running.*no control socket"):
        await control_request(sock, {"action": "status"})
    with pytest.raises(ControlUnavailable, match=r"not running.*no control socket"):
        control_request_sync(sock, {"action": "status"}, timeout=2)


async def test_clients_say_the_daemon_is_not_running_on_a_stale_socket(sock: Path) -> None:
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(sock))
    crashed.close()
    with pytest.raises(ControlUnavailable, match="nothing listens"):
        await control_request(sock, {"action": "status"})
    with pytest.raises(ControlUnavailable, match="nothing listens"):
        control_request_sync(sock, {"action": "status"}, timeout=2)


async def test_the_sync_client_gives_up_after_its_timeout(sock: Path) -> None:
    stuck = asyncio.Event()

    async def handler(request: dict[str, Any]) -> dict[str, Any]:
        await stuck.wait()
        return {"ok": True}

    async with ControlServer(sock, handler):
        with pytest.raises(ControlError, match=r"did not answer within 0\.3s"):
            await asyncio.to_thread(control_request_sync, sock, {"action": "status"}, 0.3)
