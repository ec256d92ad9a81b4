"""What every serial device driver shares: the hall port, request ids, and a framed device's
input path (acknowledge, drop repeats, map to a request) and output path (render, send).

A driver is restartable: its state that must survive a crash (the inbox of frames already
taken off the wire, the request counter) lives on the object, and ``run()`` can be called
again by the supervisor after an exception.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import structlog

from hallctl.codec.frame import EncodeError, Frame
from hallctl.codec.mapping import (
    InputAction,
    ack_frame,
    match_input,
    render_output,
    reply_predicate,
)
from hallctl.codec.profile import FrameProfile
from hallctl.drivers.serial_config import SerialDevice
from hallctl.hall import views
from hallctl.ids import new_id
from hallctl.transports.serial import SerialLine

log = structlog.get_logger("hallctl.drivers")


class HallPort(Protocol):
    """What a driver needs from the hall (``HallEngine`` satisfies it; docs/architecture.md)."""

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]: ...
    def subscribe(self) -> AsyncIterator[Any]: ...
    def retained_state(self) -> dict[str, dict[str, Any]]: ...


class RequestIds:
    """``<device>:<boot>:<n>``: unique per frame, so a retried request is idempotent, and
    unique per process start, so a counter that restarts at 1 never meets yesterday's
    stored answers in the journal."""

    def __init__(self) -> None:
        self.boot = new_id()[-8:]
        self._n = itertools.count(1)

    def next(self, device: str) -> str:
        return f"{device}:{self.boot}:{next(self._n)}"


class Driver:
    """Base of every device driver: identity, the hall, and event/redraw plumbing."""

    def __init__(self, device: SerialDevice, hall: HallPort, ids: RequestIds) -> None:
        self.device = device
        self.id = device.id
        self.hall = hall
        self.ids = ids
        self.counters: Counter[str] = Counter()

    async def request(self, action: str, **fields: Any) -> dict[str, Any]:
        req = {"action": action, "request_id": self.ids.next(self.id), "source": self.id, **fields}
        response = await self.hall.execute(req)
        if not response.get("ok"):
            err = response.get("error", {})
            log.info("device.request_refused", device=self.id, action=action, code=err.get("code"))
        return response

    def notify(self, type_: str, data: dict[str, Any]) -> None:
        """A durable event the runner routed here (by window or kind). Must not block."""

    async def on_connected(self) -> None:
        """The line (re)connected: show the current state, not a backlog."""

    async def run(self) -> None:
        await asyncio.Event().wait()


class FramedDriver(Driver):
    """A device on a framed line at an address: inputs become requests, outputs are frames."""

    def __init__(
        self,
        device: SerialDevice,
        profile: FrameProfile,
        line: SerialLine,
        hall: HallPort,
        ids: RequestIds,
    ) -> None:
        super().__init__(device, hall, ids)
        assert device.address is not None
        self.address: int = device.address
        self.profile = profile
        self.line = line
        self._inbox: asyncio.Queue[tuple[float, Frame]] = asyncio.Queue()
        self._last_input: tuple[bytes, float] | None = None
        self._last_output: bytes | None = None
        self._repeat_window = device.repeat_window_ms / 1000

    # -- input ------------------------------------------------------------------------------

    def on_frame(self, frame: Frame) -> None:
        """Line listener (synchronous): queue the frame with its arrival time."""
        self._inbox.put_nowait((time.monotonic(), frame))

    async def run(self) -> None:
        while True:
            arrived, frame = await self._inbox.get()
            await self._take(arrived, frame)

    async def _take(self, arrived: float, frame: Frame) -> None:
        if frame.raw == self._last_output:
            return  # our own frame answered back late: never acknowledge it (no ping-pong)
        action = match_input(self.profile, frame)
        if action is None:
            self.counters["unmatched"] += 1
            log.info("device.frame_unmatched", device=self.id, function=frame.function)
            return
        ack = ack_frame(self.profile, frame)
        if ack is not None:
            # queued (not sent) before the request runs: the hall does not wait for the wire
            await self.line.send(ack, priority=True)
        last = self._last_input
        self._last_input = (frame.raw, arrived)
        if last is not None and last[0] == frame.raw and arrived - last[1] < self._repeat_window:
            # the device repeats a press whose acknowledgement it missed
            self.counters["repeats"] += 1
            return
        self.counters["inputs"] += 1
        if action.action is not None:
            await self.on_input(action, frame)

    async def on_input(self, action: InputAction, frame: Frame) -> None:
        raise NotImplementedError

    # -- output -----------------------------------------------------------------------------

    def has_output(self, name: str) -> bool:
        return name in self.profile.outputs

    async def emit(self, name: str, **params: Any) -> bool:
        """Render and send output `name`; True once sent (and answered, if the profile says
        the device answers). A device that does not answer is the line's business: it is
        marked offline and skipped, and its neighbours do not wait for it."""
        try:
            frame = render_output(self.profile, name, address=self.address, **params)
        except EncodeError as exc:
            log.warning("device.render_failed", device=self.id, output=name, reason=str(exc))
            return False
        self._last_output = frame
        expect = reply_predicate(self.profile, frame)
        if expect is None:
            await self.line.send(frame)
            return True
        # not retried: the next redraw carries the current state anyway, and one time-out is
        # the most a silent device can hold up a neighbour's acknowledgement
        reply = await self.line.transact(frame, expect=expect, retries=0, device=self.id)
        return reply is not None


class Redraw:
    """A coalescing "something changed" flag: a burst of events costs one redraw."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.force = False

    def set(self, force: bool = False) -> None:
        self.force = self.force or force
        self._event.set()

    async def wait(self) -> bool:
        """Wait for a change; returns whether the redraw must be sent even if unchanged."""
        await self._event.wait()
        self._event.clear()
        force, self.force = self.force, False
        return force


def calls_view(hall: HallPort) -> dict[str, Any]:
    """The main display's last calls, without building the whole retained state."""
    core = getattr(hall, "hall", None)
    if core is not None:
        return views.calls_view(core)
    calls: dict[str, Any] = hall.retained_state().get("state/calls", {})
    return calls


def window_view(hall: HallPort, window: int) -> dict[str, Any] | None:
    """One window's retained state payload. HallEngine exposes its pure core as ``hall``:
    one window's view from it costs microseconds, the whole retained state about a
    millisecond with 60 windows, and this runs on every redraw of every window device."""
    core = getattr(hall, "hall", None)
    if core is not None:
        try:
            return views.window_view(core, window)
        except KeyError:
            return None
    return hall.retained_state().get(f"state/windows/{window}")
