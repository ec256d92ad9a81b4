"""A line flooded with garbage: every valid frame between the garbage is acted on.

The device end is a real pty written by another thread (as a device is another machine), the
daemon end the real serial stack (line owner, frame decoder, keypad driver, engine). The sender is
held up mid-frame now and then and the event loop stalls, as both do when the hall PC's CPU is
busy; an inter-byte time-out (formerly `partial_frame_ms`) then dropped the frame half way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
import tty
from pathlib import Path

from hallctl.codec.frame import FrameDecoder
from hallctl.codec.loader import load_profile
from hallctl.config import parse_config
from hallctl.drivers.serial_devices import SerialDevices
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from tests.drivers_support import FAST, HALL, clock, section
from tests.serial_support import eventually

KEYPAD = load_profile("ff68-keypad")
CANCEL = 0x0E  # a key the hall acknowledges and ignores: the test counts acts, not tickets
FRAMES = 200
GARBAGE = 1024 * 1024


def ff68(addr: int, func: int, data: bytes) -> bytes:
    n = 2 + len(data)
    cs = (addr + func + sum(data)) & 0xFF
    return bytes([0xFF, 0x68, n, n, 0x68, addr, func, *data, cs, 0x16])


def flood() -> tuple[bytes, list[bytes]]:
    """1 MiB of garbage (rich in frame starts) with 200 distinct key frames spread through it."""
    rng = random.Random(8)
    frames = [ff68(1, 0x01, bytes([k & 0xFF, k >> 8, CANCEL])) for k in range(FRAMES)]
    chunk = GARBAGE // FRAMES
    parts: list[bytes] = []
    for frame in frames:
        while True:
            noise = bytearray(rng.randbytes(chunk))
            for _ in range(40):  # false starts: a header with a plausible length, then nonsense
                at = rng.randrange(0, chunk - 6)
                n = rng.randrange(2, 30)
                noise[at : at + 5] = bytes([0xFF, 0x68, n, n, 0x68])
            # garbage that happens to hold a valid frame is not garbage: draw again
            if [f.raw for f in FrameDecoder(KEYPAD).feed(bytes(noise) + frame)] == [frame]:
                break
        parts += [bytes(noise), frame]
    return b"".join(parts), frames


def test_the_flood_decodes_to_exactly_the_200_frames() -> None:
    wire, frames = flood()
    assert len(wire) > GARBAGE
    assert [f.raw for f in FrameDecoder(KEYPAD).feed(wire)] == frames


class Device:
    """The keypad end of a real pty, written in bursts and read by its own threads."""

    def __init__(self, link: Path) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        link.symlink_to(os.ttyname(self._slave))
        self.echoed = bytearray()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def write(self, wire: bytes, frames: list[bytes]) -> None:
        """Uneven bursts, as a USB adapter hands them over. In one frame of eight the writer
        is held up half way for longer than an inter-byte time-out would wait (a busy CPU
        descheduling it), and the rest of the frame follows."""
        rng = random.Random(1)
        cuts = {rng.randrange(len(wire)): 0.001 for _ in range(200)}
        for k, frame in enumerate(frames):
            cuts[wire.index(frame) + rng.randrange(1, len(frame))] = 0.08 if k % 8 == 0 else 0.001
        start = 0
        for cut in [*sorted(cuts), len(wire)]:
            view = memoryview(wire)[start:cut]
            while view:
                n = os.write(self.master, view)
                view = view[n:]
            start = cut
            time.sleep(cuts.get(cut, 0))

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            self.echoed += data

    def close(self) -> None:
        self._stop.set()
        os.close(self._slave)
        os.close(self.master)


def busy(seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


async def stall_now_and_then(stop: asyncio.Event) -> None:
    """A busy CPU: the loop is held for 60-100 ms at a time (longer than the line's time-outs)."""
    rng = random.Random(3)
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.1, 0.3))
        busy(rng.uniform(0.06, 0.1))


async def test_every_valid_frame_in_a_garbage_flood_is_acted_on(tmp_path: Path) -> None:
    wire, frames = flood()
    device = Device(tmp_path / "tty-bus")
    hall = parse_config(HALL)
    journal = Journal(tmp_path / "journal.db")
    engine = HallEngine(hall, journal, secret=b"k" * 32, clock=clock)
    engine.recover()
    keypad = {"id": "kp-1", "profile": "ff68-keypad", "line": "bus", "address": 1, "window": 1}
    # 50 ms: the former inter-byte time-out, still accepted in hall files, is now ignored
    lines = section(tmp_path, [keypad], bus={**FAST, "partial_frame_ms": 50})
    serial = SerialDevices(lines, engine, hall, startup_grace_s=0.5)
    writer = asyncio.create_task(engine.run())
    stop = asyncio.Event()
    try:
        async with serial:
            line = serial.lines["bus"]
            await asyncio.wait_for(line.wait_connected(), 3)
            staller = asyncio.create_task(stall_now_and_then(stop))
            await asyncio.to_thread(device.write, wire, frames)
            driver = serial.drivers["kp-1"]
            with contextlib.suppress(TimeoutError):
                await eventually(lambda: driver.counters["inputs"] >= FRAMES, within=20)
            stop.set()
            await staller
            assert line.framer is not None
            assert driver.counters["inputs"] == FRAMES, (
                dict(driver.counters), dict(line.framer.stats))
            # and each one was acknowledged on the wire (the keypad's echo)
            await eventually(lambda: all(f in device.echoed for f in frames), within=5)
    finally:
        stop.set()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        journal.close()
        device.close()
