"""One Modbus link (an RS-485 RTU line or a TCP connection), its one client and its one task.

RS-485 is half-duplex and Modbus RTU has no transaction ids, so everything on a line goes
through one scheduler, one transaction at a time: queued writes first (a display update
should not wait behind a poll cycle), then the poll group that has been due longest.
Timeouts, exception answers, CRC garbage and a vanished port are all handled here, and
none of them ends the task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from .config import LinkSettings, ModbusLineConfig
from .health import DeviceHealth
from .plan import READ_FC, ReadBlock

log = structlog.get_logger("hallctl.modbus")

Client = AsyncModbusSerialClient | AsyncModbusTcpClient
ClientFactory = Callable[[float], Client]


@dataclass(frozen=True, slots=True)
class WriteOp:
    table: Literal["coil", "holding"]
    address: int
    values: tuple[int, ...] | tuple[bool, ...]


@dataclass(slots=True)
class DeviceStats:
    reads: int = 0
    writes: int = 0
    timeouts: int = 0
    exceptions: int = 0
    cycles: int = 0  # poll groups completed


@dataclass(eq=False)
class LineDevice:
    """What a link needs to know about one device on it."""

    id: str
    unit: int
    timeout: float
    retries: int
    polls: list[tuple[float, list[ReadBlock]]]
    on_data: Callable[[ReadBlock, Sequence[int] | Sequence[bool]], None]
    on_availability: Callable[[bool], None]
    health: DeviceHealth
    stats: DeviceStats = field(default_factory=DeviceStats)
    last_exception: int | None = None


@dataclass(eq=False, slots=True)
class _Poll:
    device: LineDevice
    period: float
    blocks: list[ReadBlock]
    due: float


def quiet_pymodbus() -> None:
    """pymodbus logs every timeout at ERROR with frame dumps; our own log says it once."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusLink:
    def __init__(
        self,
        name: str,
        client_factory: ClientFactory,
        settings: LinkSettings,
        *,
        frame_gap: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.settings = settings
        self.frame_gap = frame_gap
        self._factory = client_factory
        self._client: Client | None = None
        self._clock = clock
        self._devices: dict[str, LineDevice] = {}
        self._polls: list[_Poll] = []
        self._writes: deque[tuple[LineDevice, WriteOp, asyncio.Future[bool]]] = deque()
        self._wake = asyncio.Event()
        self._last_io = 0.0
        self.transactions = 0

    @classmethod
    def rtu(cls, cfg: ModbusLineConfig) -> ModbusLink:
        def factory(timeout: float) -> Client:
            return AsyncModbusSerialClient(
                cfg.port, baudrate=cfg.baudrate, bytesize=cfg.bytesize, parity=cfg.parity,
                stopbits=cfg.stopbits, timeout=timeout, retries=0, reconnect_delay=0,
                name=cfg.id,
            )
        return cls(cfg.id, factory, cfg, frame_gap=cfg.gap_seconds())

    @classmethod
    def tcp(cls, host: str, port: int, settings: LinkSettings) -> ModbusLink:
        def factory(timeout: float) -> Client:
            return AsyncModbusTcpClient(
                host, port=port, timeout=timeout, retries=0, reconnect_delay=0,
                name=f"{host}:{port}",
            )
        return cls(f"tcp:{host}:{port}", factory, settings)

    # -- setup and API ---------------------------------------------------------------------
    def attach(self, device: LineDevice) -> None:
        if device.id in self._devices:
            raise ValueError(f"device {device.id} is already on {self.name}")
        self._devices[device.id] = device
        now = self._clock()
        for period, blocks in device.polls:
            if blocks:
                self._polls.append(_Poll(device, period, blocks, now))

    @property
    def devices(self) -> dict[str, LineDevice]:
        return self._devices

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def write(self, device_id: str, op: WriteOp) -> bool:
        """Queue a write ahead of all polls; False when it was not confirmed by the device.

        A write to an offline device fails at once instead of queueing: what a display
        should show is re-rendered from hall state when it comes back, so nothing is lost.
        """
        dev = self._devices[device_id]
        if dev.health.state == "offline" or not self.connected:
            return False
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._writes.append((dev, op, fut))
        self._wake.set()
        return await fut

    # -- the task -----------------------------------------------------------------------------
    async def run(self) -> None:
        quiet_pymodbus()
        delay = self.settings.reconnect_delay
        me = asyncio.current_task()
        try:
            while True:
                if me is not None and me.cancelling():
                    # pymodbus awaits each answer with asyncio.wait_for, which on Python 3.11
                    # returns the answer and drops a cancel that comes as the answer does: the
                    # line polled on and the daemon's shutdown waited for it forever (seen once
                    # under strace in CI). A cancel asked for is a cancel.
                    raise asyncio.CancelledError
                if not self.connected:
                    if not await self._connect():
                        self._link_down()
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, self.settings.reconnect_delay_max)
                        continue
                    delay = self.settings.reconnect_delay
                try:
                    await self._step()
                except (ConnectionException, OSError) as exc:
                    log.warning("modbus.link_lost", link=self.name, error=str(exc))
                    self._close()
                    self._link_down()
        finally:
            self._close()
            self._fail_writes()

    async def _connect(self) -> bool:
        self._close()
        timeout = max([d.timeout for d in self._devices.values()] + [self.settings.timeout])
        # pymodbus's own answer timeout only backstops ours (asyncio.timeout per device)
        self._client = self._factory(timeout + 1.0)
        self._client.set_max_no_responses(1 << 30)  # we decide when a link is dead
        try:
            ok = await self._client.connect()
        except (ConnectionException, OSError) as exc:
            log.warning("modbus.connect_failed", link=self.name, error=str(exc))
            ok = False
        if ok:
            log.info("modbus.connected", link=self.name)
            for poll in self._polls:
                poll.due = min(poll.due, self._clock())
        return ok

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _link_down(self) -> None:
        now = self._clock()
        for dev in self._devices.values():
            if dev.health.link_down(now):
                log.warning("modbus.offline", link=self.name, device=dev.id, unit=dev.unit,
                            reason="link down")
                dev.on_availability(False)
        self._fail_writes()

    def _fail_writes(self) -> None:
        while self._writes:
            _, _, fut = self._writes.popleft()
            if not fut.done():
                fut.set_result(False)

    async def _step(self) -> None:
        self._wake.clear()  # before looking at the queue, so no wake-up is lost
        if self._writes:
            await self._do_write(*self._writes.popleft())
            return
        poll, when = self._next_poll()
        now = self._clock()
        if poll is None or when > now:
            try:
                async with asyncio.timeout(None if poll is None else when - now):
                    await self._wake.wait()
            except TimeoutError:
                pass
            return
        await self._do_poll(poll)

    def _next_poll(self) -> tuple[_Poll | None, float]:
        best: _Poll | None = None
        best_when = float("inf")
        for poll in self._polls:
            when = max(poll.due, poll.device.health.ready_at())
            if when < best_when:
                best, best_when = poll, when
        return best, best_when

    async def _drain_writes(self) -> None:
        while self._writes:
            await self._do_write(*self._writes.popleft())

    async def _do_poll(self, poll: _Poll) -> None:
        dev = poll.device
        for i, block in enumerate(poll.blocks):
            if i:
                await self._drain_writes()
            answer = await self._read(dev, block)
            if answer is None:
                break  # a silent device costs one timeout a round, not one per block
            if answer.isError():
                self._exception(dev, answer, block)
                continue
            dev.last_exception = None
            dev.stats.reads += 1
            values: Sequence[int] | Sequence[bool] = (
                answer.bits[: block.count] if block.is_bits else answer.registers
            )
            try:
                dev.on_data(block, values)
            except Exception:  # a driver bug must not end polling of the whole line
                log.exception("modbus.on_data_failed", device=dev.id)
        else:
            dev.stats.cycles += 1
        poll.due = max(poll.due + poll.period, self._clock())

    async def _read(self, dev: LineDevice, block: ReadBlock) -> ModbusPDU | None:
        client = self._client
        assert client is not None
        readers = {
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
        }
        call = readers[block.table]

        def request() -> Awaitable[ModbusPDU]:
            return call(block.address, count=block.count, device_id=dev.unit)

        return await self._transact(dev, request, READ_FC[block.table])

    async def _do_write(self, dev: LineDevice, op: WriteOp, fut: asyncio.Future[bool]) -> None:
        if fut.done():
            return  # the writer gave up waiting
        client = self._client
        assert client is not None
        request: Callable[[], Awaitable[ModbusPDU]]
        if op.table == "coil":
            bits = [bool(v) for v in op.values]
            fc = 5 if len(bits) == 1 else 15
            if len(bits) == 1:
                def request() -> Awaitable[ModbusPDU]:
                    return client.write_coil(op.address, bits[0], device_id=dev.unit)
            else:
                def request() -> Awaitable[ModbusPDU]:
                    return client.write_coils(op.address, bits, device_id=dev.unit)
        else:
            regs = [int(v) for v in op.values]
            fc = 6 if len(regs) == 1 else 16
            if len(regs) == 1:
                def request() -> Awaitable[ModbusPDU]:
                    return client.write_register(op.address, regs[0], device_id=dev.unit)
            else:
                def request() -> Awaitable[ModbusPDU]:
                    return client.write_registers(op.address, regs, device_id=dev.unit)
        answer = await self._transact(dev, request, fc)
        ok = answer is not None and not answer.isError()
        if answer is not None and answer.isError():
            log.warning("modbus.write_rejected", link=self.name, device=dev.id, unit=dev.unit,
                        address=op.address, code=answer.exception_code)
        if ok:
            dev.stats.writes += 1
        if not fut.done():
            fut.set_result(ok)

    async def _transact(
        self, dev: LineDevice, request: Callable[[], Awaitable[ModbusPDU]], fc: int
    ) -> ModbusPDU | None:
        """One transaction with the device's timeout and retries; None if it never answered.

        Updates the device's health: any answer (even an exception) means alive.
        """
        for _ in range(dev.health.attempts(dev.retries)):
            await self._quiet()
            self.transactions += 1
            try:
                async with asyncio.timeout(dev.timeout):
                    answer = await request()
            except (TimeoutError, ModbusIOException):
                # no answer, a CRC failure (pymodbus drops the frame) or another unit's frame
                answer = None
            finally:
                self._last_io = self._clock()
            if answer is not None and answer.function_code & 0x7F == fc:
                if dev.health.answered():
                    log.info("modbus.online", link=self.name, device=dev.id, unit=dev.unit)
                    dev.on_availability(True)
                return answer
            dev.stats.timeouts += 1
            log.debug("modbus.timeout", link=self.name, device=dev.id, unit=dev.unit)
        if dev.health.failed(self._clock()):
            log.warning("modbus.offline", link=self.name, device=dev.id, unit=dev.unit,
                        reason="no answer", backoff=dev.health.backoff)
            dev.on_availability(False)
        return None

    async def _quiet(self) -> None:
        """Keep the line silent for the inter-frame gap after the last frame."""
        if self.frame_gap <= 0:
            return
        wait = self._last_io + self.frame_gap - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)

    def _exception(self, dev: LineDevice, answer: ModbusPDU, block: ReadBlock) -> None:
        dev.stats.exceptions += 1
        if dev.last_exception != answer.exception_code:  # once per change, not every poll
            log.warning("modbus.exception", link=self.name, device=dev.id, unit=dev.unit,
                        table=block.table, address=block.address, count=block.count,
                        code=answer.exception_code)
        dev.last_exception = answer.exception_code

    def snapshot(self) -> dict[str, Any]:
        return {
            d.id: {"state": d.health.state, **{k: getattr(d.stats, k) for k in d.stats.__slots__}}
            for d in self._devices.values()
        }
