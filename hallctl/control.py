"""The local control channel: newline-delimited JSON over a UNIX socket in the data directory.

It is how the ``hallctl`` CLI talks to the running daemon, and it works when the MQTT broker or
the network is down. Protocol: the client writes one JSON object per line (a request, see
docs/architecture.md) and reads one JSON object per line back, in order; a connection may carry
any number of requests. Who may connect is decided by the socket file's permissions (``mode``,
and the group of the data directory), as with any local daemon socket.

Errors of the channel itself answer like hall errors do::

    {"ok": false, "error": {"code": "bad_json" | "bad_request" | "line_too_long" | "internal",
                            "message": "..."}}
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

from hallctl import json_input
from hallctl.control_client import (
    _MAX_RESPONSE,
    _READ_CHUNK,
    ControlError,
    ControlUnavailable,
    _check_path_length,
    _decode_response,
    _encode,
    _unavailable,
    control_request_sync,
)

__all__ = [
    "MAX_LINE",
    "ControlError",
    "ControlServer",
    "ControlUnavailable",
    "Handler",
    "control_request",
    "control_request_sync",
]

log = structlog.get_logger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

MAX_LINE = 64 * 1024  # a request is a few hundred bytes; anything near this is not a request


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class ControlServer:
    """Serves ``handler`` on a UNIX socket for the lifetime of ``async with``."""

    def __init__(
        self, path: Path, handler: Handler, mode: int = 0o660, max_line: int = MAX_LINE
    ) -> None:
        self.path = Path(path)
        self._handler = handler
        self._mode = mode
        self._max_line = max_line
        self._server: asyncio.Server | None = None
        self._inode: int | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Self:
        _check_path_length(self.path)
        self._clear_stale_socket()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        # The socket was created under the umask (typically 0o755: no one else may connect, as
        # connecting needs write permission); now open it up to exactly ``mode``.
        os.chmod(self.path, self._mode)
        self._inode = os.stat(self.path).st_ino
        log.info("control.listening", path=str(self.path), mode=oct(self._mode))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        self._remove_own_socket()
        log.info("control.closed", path=str(self.path))

    def _clear_stale_socket(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise ControlError(f"{self.path} exists and is not a socket; refusing to replace it")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(str(self.path))
            except (ConnectionRefusedError, FileNotFoundError):
                # Left behind by a run that crashed: nobody listens, so it is safe to replace.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
                log.info("control.stale_socket_removed", path=str(self.path))
                return
            except OSError as exc:
                raise ControlError(f"cannot check existing socket {self.path}: {exc}") from exc
        raise ControlError(f"another hallctl is already listening on {self.path}")

    def _remove_own_socket(self) -> None:
        # Only our own file: a daemon started after us may already have replaced it.
        try:
            if self._inode is not None and os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._converse(reader, writer)
        except ConnectionError:
            pass  # the client went away mid-conversation: nothing to answer
        except asyncio.CancelledError:
            # Only __aexit__ cancels these tasks, and it is waiting for them to end. Ending
            # normally keeps Python 3.11's stream callback from logging the cancellation as an
            # unhandled error (it calls task.exception() on the finished task).
            pass
        finally:
            self._connections.discard(task)
            writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Own line splitting instead of readline(): after an over-long line we must skip exactly
        # to its end and answer once, then go on with the next request on the same connection.
        buffer = bytearray()
        skipping = False  # inside a line that already exceeded max_line
        while True:
            chunk = await reader.read(_READ_CHUNK)
            if not chunk:
                break
            buffer += chunk
            while True:
                end = buffer.find(b"\n")
                if end < 0:
                    if len(buffer) > self._max_line:
                        skipping = True
                        buffer.clear()
                    break
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                if skipping:
                    skipping = False
                    await self._reply(writer, self._too_long())
                else:
                    await self._answer_line(writer, line)
        # The client closed its side: answer a last request written without a newline.
        if skipping:
            await self._reply(writer, self._too_long())
        elif buffer.strip():
            await self._answer_line(writer, bytes(buffer))

    def _too_long(self) -> dict[str, Any]:
        return _error("line_too_long", f"a request line may be at most {self._max_line} bytes")

    async def _answer_line(self, writer: asyncio.StreamWriter, line: bytes) -> None:
        if not line.strip():
            return  # blank lines are harmless (hand-typed sessions); no answer expected
        if len(line) > self._max_line:
            await self._reply(writer, self._too_long())
            return
        await self._reply(writer, await self._answer(line))

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json_input.loads(line)
        except json_input.JsonInputError as exc:
            return _error("bad_json", f"not a JSON line: {exc}")
        if not isinstance(request, dict):
            return _error("bad_request", "a request is a JSON object with an 'action'")
        try:
            response = await self._handler(request)
            if not isinstance(response, dict):
                raise TypeError(f"handler returned {type(response).__name__}, not a dict")
            _encode(response)  # fail here, inside the guard, if it cannot be sent
        except Exception as exc:
            # One broken request must not take the channel down for the next operator.
            log.exception("control.handler_failed", action=request.get("action"))
            return _error("internal", f"internal error ({type(exc).__name__}); see the log")
        return response

    async def _reply(self, writer: asyncio.StreamWriter, response: dict[str, Any]) -> None:
        writer.write(_encode(response))
        await writer.drain()


# -- clients ------------------------------------------------------------------------------------


async def control_request(path: Path, request: dict[str, Any]) -> dict[str, Any]:
    """Send one request and return the daemon's answer. Bound it with ``asyncio.timeout``."""
    path = Path(path)
    _check_path_length(path)
    try:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=_MAX_RESPONSE)
    except OSError as exc:
        raise _unavailable(path, exc) from exc
    try:
        writer.write(_encode(request))
        await writer.drain()
        line = await reader.readline()
    except ConnectionError as exc:
        raise ControlUnavailable(f"hallctl went away during the request: {exc}") from exc
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return _decode_response(path, line)


