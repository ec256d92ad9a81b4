"""The CLI's side of the control channel (hallctl/control.py): one blocking request.

Its own module so that `hallctl status` imports only what a socket round trip needs (no
asyncio, no structlog): the CLI's start-up is most of its wall time (docs/performance.md).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from hallctl import json_input

__all__ = ["ControlError", "ControlUnavailable", "control_request_sync"]

_MAX_RESPONSE = 16 * 1024 * 1024  # a status of a 100-window hall is far below this
_MAX_UNIX_PATH = 107  # sun_path is 108 bytes including the terminating NUL
_READ_CHUNK = 64 * 1024


class ControlError(RuntimeError):
    """The control channel failed (client side), or the socket path cannot be served."""


class ControlUnavailable(ControlError):
    """No daemon answers on the control socket: it is not running (or died)."""


def _encode(message: dict[str, Any]) -> bytes:
    # ensure_ascii=False: Chinese names travel as UTF-8, readable with socat or nc.
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _check_path_length(path: Path) -> None:
    if len(os.fsencode(path)) > _MAX_UNIX_PATH:
        raise ControlError(
            f"control socket path is too long for a UNIX socket ({len(os.fsencode(path))} > "
            f"{_MAX_UNIX_PATH} bytes): {path}; choose a shorter data directory"
        )


def _unavailable(path: Path, exc: OSError) -> ControlError:
    if isinstance(exc, FileNotFoundError):
        return ControlUnavailable(f"hallctl is not running (no control socket at {path})")
    if isinstance(exc, ConnectionRefusedError):
        return ControlUnavailable(
            f"hallctl is not running (nothing listens on {path}; left over from a crash?)"
        )
    if isinstance(exc, PermissionError):
        return ControlError(
            f"permission denied on {path}: run as root or as a member of the hallctl group"
        )
    return ControlError(f"cannot reach hallctl at {path}: {exc}")


def _decode_response(path: Path, line: bytes) -> dict[str, Any]:
    if not line:
        raise ControlUnavailable(f"hallctl closed the connection on {path} without answering")
    try:
        response = json_input.loads(line)
    except json_input.JsonInputError as exc:
        raise ControlError(f"hallctl sent an unreadable answer: {exc}") from exc
    if not isinstance(response, dict):
        raise ControlError("hallctl sent an answer that is not a JSON object")
    return response


def control_request_sync(
    path: Path, request: dict[str, Any], timeout: float = 10.0
) -> dict[str, Any]:
    """Blocking ``control_request`` for the CLI; ControlError after ``timeout`` seconds."""
    path = Path(path)
    _check_path_length(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except TimeoutError as exc:
            raise ControlError(f"hallctl did not accept the connection within {timeout}s") from exc
        except OSError as exc:
            raise _unavailable(path, exc) from exc
        try:
            sock.sendall(_encode(request))
            line = _read_line(sock)
        except TimeoutError as exc:
            raise ControlError(f"hallctl did not answer within {timeout}s") from exc
        except ConnectionError as exc:
            raise ControlUnavailable(f"hallctl went away during the request: {exc}") from exc
    return _decode_response(path, line)


def _read_line(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = sock.recv(_READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        end = chunk.find(b"\n")
        if end >= 0:
            chunks.append(chunk[:end])
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_RESPONSE:
            raise ControlError("hallctl's answer is larger than 16 MiB")
