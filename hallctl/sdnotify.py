"""systemd's sd_notify protocol without a C library: one datagram per state change.

Under ``Type=notify`` systemd sets ``NOTIFY_SOCKET``; the daemon says ``READY=1`` once it serves,
``WATCHDOG=1`` at least every half ``WatchdogSec=`` and ``STOPPING=1`` when it shuts down.
Outside systemd (a terminal, tests, containers) every call is a silent no-op, so callers never
need to ask whether they run under systemd.

Sending never raises and never blocks: a missing or overloaded notify socket must not take the
hall down; it is logged and the daemon carries on.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

__all__ = ["Notifier", "watchdog_interval"]

log = structlog.get_logger(__name__)


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None when not watched.

    As in sd_watchdog_enabled(3), ``WATCHDOG_PID`` set to another process means the watchdog
    is not ours (e.g. a child that inherited the environment).
    """
    env = os.environ if env is None else env
    raw = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not raw:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(raw)
    except ValueError:
        log.warning("sdnotify.bad_watchdog_usec", value=raw)
        return None
    if usec <= 0:
        return None
    # Half the deadline, as systemd recommends, so one late tick does not trigger a restart.
    return usec / 2 / 1_000_000


class Notifier:
    """Talks to the service manager named by ``NOTIFY_SOCKET`` (``env`` defaults to os.environ)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._env = env
        raw = env.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None
        if not raw:
            self._address = None
        elif raw.startswith("@"):
            # Abstract namespace socket: the leading "@" stands for a NUL byte.
            self._address = b"\0" + raw[1:].encode()
        elif raw.startswith("/"):
            self._address = raw
        else:
            log.warning("sdnotify.unsupported_socket", notify_socket=raw)
            self._address = None

    @property
    def enabled(self) -> bool:
        """True when a service manager listens (NOTIFY_SOCKET is set and usable)."""
        return self._address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (keys upper-cased); True if the datagram went out."""
        if self._address is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        return self._send(message.encode())

    def _send(self, payload: bytes) -> bool:
        assert self._address is not None
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                sock.sendto(payload, self._address)
        except OSError as exc:
            log.warning("sdnotify.send_failed", error=str(exc))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """The daemon is serving: systemd finishes ``start`` and starts dependants."""
        if status is None:
            return self.notify(ready=1, mainpid=os.getpid())
        return self.notify(ready=1, mainpid=os.getpid(), status=_one_line(status))

    def stopping(self) -> bool:
        """The daemon began to shut down (so systemd does not count it as a crash)."""
        return self.notify(stopping=1)

    def watchdog(self) -> bool:
        """The daemon is alive: call at least every ``watchdog_interval()`` seconds."""
        return self.notify(watchdog=1)

    def status(self, text: str) -> bool:
        """A one-line human status shown by ``systemctl status``."""
        return self.notify(status=_one_line(text))

    def watchdog_interval(self) -> float | None:
        """See the module function; reads the same environment as this notifier."""
        return watchdog_interval(self._env)


def _one_line(text: str) -> str:
    # A newline would start a new KEY=value assignment in the datagram.
    return " ".join(text.splitlines())
