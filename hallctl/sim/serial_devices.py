"""Simulated serial hall devices that speak the real protocol on a real pty.

- `FF68Bus`: several keypads and evaluators sharing one RS-485 line (protocols §1). Keypads
  repeat an unacknowledged press like the real ones; host frames are recorded and decoded.
- `TextStripSim`: an Onbon BX or '@' strip (any text profile) that records what it shows.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hallctl.codec.frame import Frame, FrameDecoder, encode_frame
from hallctl.codec.mapping import ack_frame, decode_output
from hallctl.codec.profile import FrameProfile
from hallctl.sim.pty_port import PtyPort


class _FramedSim:
    def __init__(self, link: Path, profile: FrameProfile) -> None:
        self.profile = profile
        self.decoder = FrameDecoder(profile)
        self.port = PtyPort(link, self._on_bytes)
        self.received_frames: dict[int | None, list[Frame]] = defaultdict(list)
        self.dead: set[int] = set()  # addresses that never answer
        self._changed = asyncio.Condition()

    @property
    def link(self) -> Path:
        return self.port.link

    def start(self) -> None:
        self.port.plug()

    def close(self) -> None:
        self.port.unplug()

    def unplug(self) -> None:
        self.decoder.flush()
        self.port.unplug()

    def plug(self) -> None:
        self.port.plug()

    def _on_bytes(self, data: bytes) -> None:
        for frame in self.decoder.feed(data):
            self.on_frame(frame)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Any, within: float = 2.0) -> None:
        """Wait until `predicate()` holds (tests: "the strip shows X")."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    def on_frame(self, frame: Frame) -> None:
        self.received_frames[frame.address].append(frame)
        if frame.address in self.dead:
            return
        reply = ack_frame(self.profile, frame, self.profile.device_ack)
        if reply is not None:
            self.port.write(reply)


class TextStripSim(_FramedSim):
    """LED strips/controllers on one line; `shown_text[address]` is what each one shows."""

    def __init__(self, link: Path, profile: FrameProfile) -> None:
        super().__init__(link, profile)
        self.shown_text: dict[int | None, str] = {}

    def on_frame(self, frame: Frame) -> None:
        decoded = decode_output(self.profile, frame)
        if decoded is not None and "text" in decoded[1]:
            self.shown_text[frame.address] = decoded[1]["text"]
        super().on_frame(frame)


class FF68Bus(_FramedSim):
    """Keypads and evaluators at their addresses on one FF 68 line."""

    def __init__(
        self,
        link: Path,
        keypad: FrameProfile,
        evaluator: FrameProfile,
        *,
        keypads: Iterable[int] = (),
        evaluators: Iterable[int] = (),
        ack_timeout: float = 0.3,
        repeats: int = 3,
    ) -> None:
        super().__init__(link, keypad)
        self.evaluator = evaluator
        self.keypads, self.evaluators = set(keypads), set(evaluators)
        self.ack_timeout, self.repeats = ack_timeout, repeats
        self.shown: dict[int, dict[str, Any]] = {}  # last output each device got, decoded
        self.presses_sent = 0
        self._acks: dict[int, asyncio.Future[Frame]] = {}
        self._last_sent: dict[int | None, Frame] = {}

    def _profile_of(self, address: int | None) -> FrameProfile:
        return self.evaluator if address in self.evaluators else self.profile

    def on_frame(self, frame: Frame) -> None:
        waiter = self._acks.get(frame.address) if frame.address is not None else None
        if waiter is not None and not waiter.done() and self._is_ack(frame):
            waiter.set_result(frame)
            return
        profile = self._profile_of(frame.address)
        decoded = decode_output(profile, frame)
        if decoded is not None and frame.address is not None:
            self.shown[frame.address] = {"output": decoded[0], **decoded[1]}
        self.received_frames[frame.address].append(frame)
        if frame.address in self.dead:
            return
        reply = ack_frame(profile, frame, profile.device_ack)
        if reply is not None:
            self.port.write(reply)

    def _is_ack(self, frame: Frame) -> bool:
        sent = self._last_sent.get(frame.address)
        if sent is None:
            return False
        rule = self._profile_of(frame.address).ack
        if rule.mode == "echo":
            return frame.raw == sent.raw
        return frame.function == rule.function and frame.data[:1] == sent.data[:1]

    async def _send_until_acked(self, address: int, function: int, data: bytes) -> bool:
        profile = self._profile_of(address)
        raw = encode_frame(profile, address=address, function=function, data=data)
        self._last_sent[address] = Frame(address, function, data, raw)
        for _ in range(self.repeats):
            waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self._acks[address] = waiter
            self.port.write(raw)
            self.presses_sent += 1
            try:
                # asyncio.wait, not wait_for: on 3.11 wait_for returns the result when a cancel
                # races the ack, and the cancel (the demo stopping) is lost
                await asyncio.wait({waiter}, timeout=self.ack_timeout)
            finally:
                self._acks.pop(address, None)
            if waiter.done() and not waiter.cancelled():
                return True
            waiter.cancel()
        return False

    async def press(self, address: int, key: int, digit: int | None = None) -> bool:
        """Press `key` on the keypad at `address` (with the digit typed before a confirm);
        True once the host acknowledged it, False after `repeats` unanswered tries."""
        data = bytes([key]) if digit is None else bytes([digit, key])
        return await self._send_until_acked(address, 0x01, data)

    async def evaluate(self, address: int, button: int) -> bool:
        return await self._send_until_acked(address, 0x11, bytes([button]))
