"""A simulated RS-485 line with real wire timing, between two pseudo-terminals.

The host (Modbus master) opens ``host_port``; the simulated devices open ``device_port``.
Every burst written on one side is held for its wire time at the configured baud before the
other side can read it, and the line is half-duplex: a new frame starts only after the line
has been silent for the inter-frame gap (3.5 characters in Modbus RTU). So the time a poll
cycle takes on this wire is the time it would take on copper, plus only the software overhead
of whoever talks over it, which is what the benchmark measures.

The relay is a plain thread around ``select`` and not an asyncio task: asyncio's timers are
rounded up to whole milliseconds (epoll), which at 9600 baud would add a few percent of
pure simulation error to every frame. Run it in its own process (``python -m
hallctl.sim.wire``) when timing matters, so it does not share a GIL with the code under test.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import os
import pty
import select
import signal
import sys
import threading
import time
import tty
from dataclasses import dataclass, field
from typing import Literal

Toward = Literal["host", "device"]


@dataclass(slots=True)
class WireStats:
    frames_to_device: int = 0
    frames_to_host: int = 0
    bytes_to_device: int = 0
    bytes_to_host: int = 0
    corrupted: int = 0
    injected: int = 0


@dataclass(order=True, slots=True)
class _Delivery:
    at: float
    seq: int
    fd: int = field(compare=False)
    data: bytes = field(compare=False)


def _open_pty() -> tuple[int, int, str]:
    master, slave = pty.openpty()
    # raw before anybody opens it: no echo, no CR/LF translation of binary frames
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


class TimedWire:
    """Half-duplex line with wire time; use as a context manager or start()/stop()."""

    def __init__(
        self,
        baudrate: int = 9600,
        *,
        bits_per_char: int = 11,
        gap_chars: float = 3.5,
    ) -> None:
        # 11 bits a character: the Modbus RTU character (start, 8 data, parity or 2nd stop, stop)
        self.baudrate = baudrate
        self.char_time = bits_per_char / baudrate
        self.gap = gap_chars * self.char_time
        self.stats = WireStats()
        self._host_master, self._host_slave, self.host_port = _open_pty()
        self._dev_master, self._dev_slave, self.device_port = _open_pty()
        # wakes the relay thread: to stop, or to notice injected noise
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._lock = threading.Lock()
        self._pending: list[_Delivery] = []
        self._seq = 0
        self._line_free_at = 0.0
        self._last_from: int | None = None
        self._corrupt = {"host": 0, "device": 0}
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------
    def start(self) -> TimedWire:
        self._thread = threading.Thread(target=self._run, name="timed-wire", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=2)
            self._thread = None
        for fd in (self._host_master, self._host_slave, self._dev_master, self._dev_slave,
                   self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> TimedWire:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def frame_time(self, nbytes: int) -> float:
        """Wire time of one frame of ``nbytes`` plus the silent interval that must precede it."""
        return nbytes * self.char_time + self.gap

    # -- fault injection (thread-safe) ------------------------------------------------
    def corrupt_next(self, frames: int = 1, toward: Toward = "host") -> None:
        """Flip a bit in each of the next ``frames`` frames travelling ``toward``: a CRC error."""
        with self._lock:
            self._corrupt[toward] += frames

    def inject(self, data: bytes, toward: Toward = "host") -> None:
        """Put noise on the line as if a device babbled; it takes wire time like any frame."""
        fd = self._host_master if toward == "host" else self._dev_master
        with self._lock:
            self.stats.injected += 1
            self._schedule(None, fd, data, time.monotonic())
        os.write(self._wake_w, b"w")

    # -- the relay ----------------------------------------------------------------------
    def _schedule(self, source: int | None, dest: int, data: bytes, now: float) -> None:
        if source is not None and source == self._last_from and now <= self._line_free_at:
            start = self._line_free_at  # the writer's frame continues: no gap inside a frame
        else:
            start = max(now, self._line_free_at + self.gap)
        end = start + len(data) * self.char_time
        self._line_free_at = end
        self._last_from = source
        self._seq += 1
        heapq.heappush(self._pending, _Delivery(end, self._seq, dest, data))

    def _on_read(self, source: int, now: float) -> None:
        try:
            data = os.read(source, 4096)
        except (BlockingIOError, OSError):
            return  # EIO while nobody holds the other end open: nothing to relay
        if not data:
            return
        toward: Toward = "device" if source == self._host_master else "host"
        dest = self._dev_master if toward == "device" else self._host_master
        with self._lock:
            if self._corrupt[toward] > 0:
                self._corrupt[toward] -= 1
                self.stats.corrupted += 1
                data = data[:-1] + bytes([data[-1] ^ 0x5A])  # the CRC no longer matches
            if toward == "device":
                self.stats.frames_to_device += 1
                self.stats.bytes_to_device += len(data)
            else:
                self.stats.frames_to_host += 1
                self.stats.bytes_to_host += len(data)
            self._schedule(source, dest, data, now)

    def _run(self) -> None:
        watch = [self._host_master, self._dev_master, self._wake_r]
        while True:
            with self._lock:
                due = self._pending[0].at if self._pending else None
            timeout = None if due is None else max(0.0, due - time.monotonic())
            readable, _, _ = select.select(watch, [], [], timeout)
            now = time.monotonic()
            if self._stopping:
                return
            for fd in readable:
                if fd == self._wake_r:
                    os.read(fd, 64)
                else:
                    self._on_read(fd, now)
            self._deliver_due()

    def _deliver_due(self) -> None:
        while True:
            with self._lock:
                if not self._pending or self._pending[0].at > time.monotonic():
                    return
                item = heapq.heappop(self._pending)
            with contextlib.suppress(OSError):  # reader gone: bytes lost, as on a real line
                os.write(item.fd, item.data)


def main(argv: list[str] | None = None) -> None:
    """Run a wire in its own process; prints ``<host_port> <device_port>`` then relays."""
    parser = argparse.ArgumentParser(description="simulated RS-485 line with wire timing")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--bits-per-char", type=int, default=11)
    parser.add_argument("--gap-chars", type=float, default=3.5)
    args = parser.parse_args(argv)
    wire = TimedWire(args.baud, bits_per_char=args.bits_per_char, gap_chars=args.gap_chars)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with wire:
        sys.stdout.write(f"{wire.host_port} {wire.device_port}\n")
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
