"""The device end of a real pseudo-terminal, for simulators.

The simulator holds the master side; the daemon opens `link`, a symlink to the slave side,
exactly as it would open /dev/serial/by-id/…. The simulator also keeps the slave open (in
raw mode) so the pty survives the daemon closing and reopening it. `unplug()` closes both
sides and removes the link, as pulling a USB adapter would; `plug()` makes a new pty at the
same link.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


class PtyPort:
    def __init__(self, link: Path, on_bytes: Callable[[bytes], None]) -> None:
        self.link = link
        self._on_bytes = on_bytes
        self._master: int | None = None
        self._slave: int | None = None

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        if self.plugged:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        os.replace(tmp, self.link)  # atomic: the daemon never sees a half-made link
        self._master, self._slave = master, slave
        asyncio.get_running_loop().add_reader(master, self._readable)

    def unplug(self) -> None:
        if self._master is None:
            return
        asyncio.get_running_loop().remove_reader(self._master)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def write(self, data: bytes) -> None:
        if self._master is None:
            return  # unplugged: the bytes go nowhere, as on a real cable
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                continue  # the daemon's side is momentarily full; it drains quickly
            view = view[n:]

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except OSError:
            return  # EIO while nobody has the slave open; ignore, we hold it open ourselves
        if data:
            self._on_bytes(data)
