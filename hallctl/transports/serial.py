"""One owner per serial line: a queue of transactions, one at a time, with a gap, a reply
timeout and retries; a reader that dispatches unsolicited frames to the device that owns the
address; and a connection loop that reconnects with backoff and never ends.

RS-485 is half-duplex, so nothing but this module writes to a line. Drivers enqueue:
`await line.transact(frame, expect=predicate)` (waits for the reply, or None) and
`await line.send(frame)` (fire and forget). Acknowledgements go with `priority=True` so a
keypad's press is not answered after a long poll cycle.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import serial
import structlog
from serial_asyncio_fast import open_serial_connection

from hallctl.codec.frame import Frame, FrameDecoder
from hallctl.transports.availability import AvailabilityTracker
from hallctl.transports.serial_line_config import SerialLineConfig as SerialLineConfig

log = structlog.get_logger(__name__)

# A reply is either a decoded frame the predicate accepts, or (unframed devices such as a
# printer answering DLE EOT) a number of raw bytes.
Expect = Callable[[Frame], bool] | int
Hook = Callable[[], Awaitable[None]]


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    data: bytes = field(compare=False)
    expect: Expect | None = field(compare=False)
    timeout: float = field(compare=False)
    retries: int = field(compare=False)
    device: Hashable | None = field(compare=False)
    future: asyncio.Future[bytes | None] = field(compare=False)


class SerialLine:
    def __init__(
        self,
        config: SerialLineConfig,
        framer: FrameDecoder | None = None,
        *,
        on_availability: Callable[[Hashable, bool], None] | None = None,
    ) -> None:
        self.config = config
        self.framer = framer
        self.availability = AvailabilityTracker(
            misses_to_offline=config.misses_to_offline,
            backoff_min=config.offline_backoff_min_s,
            backoff_max=config.offline_backoff_max_s,
            on_change=on_availability,
        )
        self.on_connected: list[Hook] = []
        self.on_disconnected: list[Hook] = []
        self.on_raw: Callable[[bytes], None] | None = None
        self._listeners: dict[int | None, list[Callable[[Frame], None]]] = {}
        self._queue: asyncio.PriorityQueue[_Job] = asyncio.PriorityQueue(config.queue_size)
        self._seq = itertools.count()
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._reply: asyncio.Future[bytes] | None = None
        self._expect: Expect | None = None
        self._raw_reply = bytearray()
        self._quiet_at = 0.0  # monotonic time the line is next free to talk
        self.connects = 0

    # ---- public API ----

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    def listen(self, address: int | None, callback: Callable[[Frame], None]) -> None:
        """Unsolicited frames from `address` (None: from any address) go to `callback`."""
        self._listeners.setdefault(address, []).append(callback)

    async def transact(
        self,
        data: bytes,
        *,
        expect: Expect,
        reply_timeout: float | None = None,
        retries: int | None = None,
        device: Hashable | None = None,
    ) -> bytes | None:
        """Send `data`, wait for the reply; None after `reply_timeout` (per try) and retries,
        when the line is down, or when `device` is offline and inside its backoff (then
        nothing is sent; an offline device past its backoff gets one try, no retries)."""
        future = await self._enqueue(data, expect, reply_timeout, retries, device, priority=1)
        return await future

    async def send(self, data: bytes, *, priority: bool = False) -> None:
        """Queue `data` for sending; returns once queued (backpressure when the queue is full)."""
        await self._enqueue(data, None, None, 0, None, priority=0 if priority else 1)

    async def run(self) -> None:
        """Own the line until cancelled: connect, read, work the queue, reconnect."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._worker())
            await self._connection_loop(tg)

    # ---- internals ----

    async def _enqueue(
        self,
        data: bytes,
        expect: Expect | None,
        reply_timeout: float | None,
        retries: int | None,
        device: Hashable | None,
        priority: int,
    ) -> asyncio.Future[bytes | None]:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        job = _Job(
            priority,
            next(self._seq),
            data,
            expect,
            reply_timeout if reply_timeout is not None else self.config.timeout_ms / 1000,
            retries if retries is not None else self.config.retries,
            device,
            future,
        )
        await self._queue.put(job)
        return future

    async def _connection_loop(self, tg: asyncio.TaskGroup) -> None:
        cfg = self.config
        backoff = cfg.reconnect_min_s
        while True:
            try:
                if _file_mode(cfg):
                    reader, writer = await open_device_file(cfg.port)
                else:
                    reader, writer = await open_serial_connection(
                        url=cfg.port,
                        baudrate=cfg.baudrate,
                        bytesize=cfg.bytesize,
                        parity=cfg.parity,
                        stopbits=cfg.stopbits,
                    )
            except (OSError, serial.SerialException) as exc:
                log.warning("serial.open_failed", line=cfg.id, port=cfg.port, reason=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, cfg.reconnect_max_s)
                continue
            backoff = cfg.reconnect_min_s
            self.connects += 1
            self._writer = writer
            self._connected.set()
            log.info("serial.connected", line=cfg.id, port=cfg.port)
            self._run_hooks(tg, self.on_connected)
            try:
                await self._read_loop(reader)
            finally:
                self._connected.clear()
                self._writer = None
                writer.close()
                self._fail_reply()
                if self.framer is not None:
                    self.framer.flush()
            log.warning("serial.disconnected", line=cfg.id, port=cfg.port)
            self._run_hooks(tg, self.on_disconnected)
            await asyncio.sleep(backoff)

    def _run_hooks(self, tg: asyncio.TaskGroup, hooks: list[Hook]) -> None:
        async def guarded(hook: Hook) -> None:
            try:
                await hook()
            except Exception:  # a driver's hook must never end the line
                log.exception("serial.hook_failed", line=self.config.id)

        for hook in hooks:
            tg.create_task(guarded(hook))

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        # No inter-byte time-out: a partial frame is given up by content only (a valid frame
        # after it, a bad checksum, max_frame), in the decoder. A time-out dropped good frames
        # whenever the sender or this loop was held up mid-frame by a busy CPU (issue 8).
        while True:
            try:
                data = await reader.read(4096)
            except (OSError, serial.SerialException) as exc:
                log.warning("serial.read_failed", line=self.config.id, reason=str(exc))
                return
            if not data:
                return
            self._quiet_at = time.monotonic() + self.config.gap_ms / 1000
            self._on_bytes(data)

    def _on_bytes(self, data: bytes) -> None:
        reply = self._reply
        waiting = reply is not None and not reply.done()
        if self.framer is None:
            if waiting and isinstance(self._expect, int):
                assert reply is not None
                self._raw_reply += data
                if len(self._raw_reply) >= self._expect:
                    reply.set_result(bytes(self._raw_reply[: self._expect]))
            elif self.on_raw is not None:
                self.on_raw(data)
            return
        for frame in self.framer.feed(data):
            expect = self._expect
            if waiting and callable(expect) and _accepts(expect, frame):
                assert reply is not None
                reply.set_result(frame.raw)
                waiting = False
                continue
            self._dispatch(frame)

    def _dispatch(self, frame: Frame) -> None:
        callbacks = self._listeners.get(frame.address) or self._listeners.get(None) or []
        if not callbacks:
            log.info("frame.unclaimed", line=self.config.id, address=frame.address)
        for cb in callbacks:
            try:
                cb(frame)
            except Exception:
                log.exception("frame.listener_failed", line=self.config.id)

    def _fail_reply(self) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()

    async def _worker(self) -> None:
        while True:
            job = await self._queue.get()
            if job.future.done():
                continue
            try:
                result = await self._run_job(job)
            except Exception:  # never let one job end the worker
                log.exception("serial.job_failed", line=self.config.id)
                result = None
            if not job.future.done():
                job.future.set_result(result)

    async def _run_job(self, job: _Job) -> bytes | None:
        tracker, device = self.availability, job.device
        if device is not None and tracker.should_skip(device):
            return None
        if not self.connected:
            return None
        probing = device is not None and tracker.is_probe(device)
        attempts = 1 if job.expect is None or probing else 1 + job.retries
        for _ in range(attempts):
            result = await self._attempt(job)
            if result is not None:
                if device is not None:
                    tracker.success(device)
                return result
            if not self.connected:
                return None  # the line went down: not the device's fault
        if device is not None and job.expect is not None:
            tracker.miss(device)
        return None

    async def _attempt(self, job: _Job) -> bytes | None:
        delay = self._quiet_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        writer = self._writer
        if writer is None:
            return None
        loop = asyncio.get_running_loop()
        if job.expect is not None:
            self._reply, self._expect = loop.create_future(), job.expect
            self._raw_reply.clear()
        try:
            writer.write(job.data)
            await writer.drain()
        except (OSError, serial.SerialException, ConnectionError) as exc:
            log.warning("serial.write_failed", line=self.config.id, reason=str(exc))
            return None
        # the OS buffer takes the bytes at once; the wire needs ~10 bits a byte
        tx_time = len(job.data) * 10 / self.config.baudrate
        self._quiet_at = time.monotonic() + tx_time + self.config.gap_ms / 1000
        if job.expect is None:
            return b""
        reply = self._reply
        assert reply is not None
        try:
            async with asyncio.timeout(job.timeout + tx_time):
                return await asyncio.shield(reply)
        except (TimeoutError, asyncio.CancelledError):
            if not reply.done():
                reply.cancel()
            if asyncio.current_task() is not None and _cancelling():
                raise
            return None
        finally:
            self._expect = None


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _accepts(expect: Callable[[Frame], bool], frame: Frame) -> bool:
    try:
        return bool(expect(frame))
    except Exception:
        log.exception("frame.expect_failed")
        return False


def line_kwargs(config: SerialLineConfig) -> dict[str, Any]:
    """pyserial keyword arguments of a line config (for tools that open the port directly)."""
    return {
        "baudrate": config.baudrate,
        "bytesize": config.bytesize,
        "parity": config.parity,
        "stopbits": config.stopbits,
    }


def _file_mode(cfg: SerialLineConfig) -> bool:
    if cfg.mode != "auto":
        return cfg.mode == "file"
    try:
        fd = os.open(cfg.port, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return False  # let the serial open report the problem
    try:
        return not os.isatty(fd)
    finally:
        os.close(fd)


async def open_device_file(path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Streams over a character device that is not a tty (``/dev/usb/lp0``): no baud rate,
    but the same reader/writer the line owner uses, so printers there poll DLE EOT too."""
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
    read_file = os.fdopen(fd, "rb", buffering=0)
    write_file = os.fdopen(os.dup(fd), "wb", buffering=0)
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_file)
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()), write_file
        )
    except BaseException:
        read_file.close()
        write_file.close()
        raise
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)
