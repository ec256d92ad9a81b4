"""The per-line scheduler against pymodbus's own server, over a timed pty wire and TCP.

Every test runs a real ``ModbusSerialServer`` on the device end of a ``TimedWire`` (or a
``ModbusTcpServer`` on loopback) and a real ``ModbusLink`` on the host end.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes

from hallctl.modbus.config import LinkSettings, ModbusLineConfig
from hallctl.modbus.health import DeviceHealth
from hallctl.modbus.line import LineDevice, ModbusLink, WriteOp
from hallctl.modbus.plan import ReadBlock, plan_groups, split_block
from hallctl.modbus.profile import ModbusProfile, parse_profile
from hallctl.sim.modbus_devices import ModbusSim
from hallctl.sim.wire import TimedWire

PROFILE = parse_profile("""
profile: counter
points:
  count: {table: holding, address: 0}
  label: {table: holding, address: 1, type: text, count: 2}
  flags: {table: coil, address: 0, type: bits, count: 4}
poll: [{points: [count, label, flags], period: 0.05}]
""")

FAST = {"timeout": 0.08, "retries": 1, "fail_threshold": 2, "offline_backoff": 1.0,
        "reconnect_delay": 0.2}


@dataclass
class Seen:
    """What the link handed over for one device."""

    values: dict[str, object] = field(default_factory=dict)
    availability: list[bool] = field(default_factory=list)
    updates: int = 0


def device(dev_id: str, unit: int, seen: Seen, settings: LinkSettings,
           profile: ModbusProfile = PROFILE) -> LineDevice:
    def on_data(block: ReadBlock, raw: Sequence[int] | Sequence[bool]) -> None:
        seen.values.update(split_block(profile.points, block, raw))
        seen.updates += 1

    return LineDevice(
        id=dev_id, unit=unit, timeout=settings.timeout, retries=settings.retries,
        polls=plan_groups(profile), on_data=on_data, on_availability=seen.availability.append,
        health=DeviceHealth(settings.fail_threshold, settings.offline_backoff),
    )


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def rtu_line(units: Sequence[int], baud: int = 19200, **over: object) -> AsyncIterator[
        tuple[TimedWire, ModbusSim, ModbusLink]]:
    with TimedWire(baud) as wire:
        async with ModbusSim({u: PROFILE for u in units}, serial_port=wire.device_port,
                             baudrate=baud) as sim:
            cfg = ModbusLineConfig.model_validate(
                {"id": "l1", "port": wire.host_port, "baudrate": baud, **FAST, **over})
            yield wire, sim, ModbusLink.rtu(cfg)


@asynccontextmanager
async def running(link: ModbusLink) -> AsyncIterator[None]:
    task = asyncio.create_task(link.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_polling_delivers_each_units_values_and_reports_online() -> None:
    async with rtu_line([1, 2]) as (_, sim, link):
        a, b = Seen(), Seen()
        link.attach(device("a", 1, a, link.settings))
        link.attach(device("b", 2, b, link.settings))
        await sim.set(1, "count", 7)
        await sim.set(2, "label", "A9")
        await sim.set_bit(2, "flags", 2, True)
        async with running(link):
            await until(lambda: a.values.get("count") == 7 and b.values.get("label") == "A9")
            assert b.values["flags"] == (False, False, True, False)
            await sim.set(1, "count", 8)
            await until(lambda: a.values.get("count") == 8)
        assert a.availability == [True] and b.availability == [True]


async def test_writes_reach_the_device_and_jump_the_poll_queue() -> None:
    units = list(range(1, 9))
    async with rtu_line(units, baud=9600) as (_, sim, link):
        seen = {u: Seen() for u in units}
        for u in units:
            link.attach(device(f"d{u}", u, seen[u], link.settings))
        async with running(link):
            await until(lambda: all(s.availability == [True] for s in seen.values()))
            before = sim.requests
            assert await link.write("d5", WriteOp("holding", 0, (1234,)))
            served = sim.requests - before
            assert await sim.get(5, "count") == 1234
            assert await link.write("d3", WriteOp("coil", 1, (True, True)))
            assert await sim.get(3, "flags") == (False, True, True, False)
        # a write waits for at most the read in progress, then goes first: counted on the
        # device side (not timed, so a loaded machine cannot fail it), out of a cycle of 8 reads
        assert served <= 2, served


async def test_a_dead_unit_costs_at_most_one_timeout_per_backoff_and_neighbours_keep_going(
) -> None:
    async with rtu_line([1, 2, 3]) as (_, sim, link):
        sim.dead.add(3)
        seen = {u: Seen() for u in (1, 2, 3)}
        for u in (1, 2, 3):
            link.attach(device(f"d{u}", u, seen[u], link.settings))
        async with running(link):
            await until(lambda: seen[3].availability == [False])
            dead = link.devices["d3"]
            # threshold 2 transactions x (1 + 1 retry) attempts before it was given up
            assert dead.stats.timeouts == 4
            live_before = seen[1].updates
            await asyncio.sleep(3.2)  # a little over 3 backoff periods of 1 s
            assert dead.stats.timeouts - 4 <= 4  # probes: at most one per period (+1 edge)
            assert dead.stats.timeouts - 4 >= 2  # ... but it is probed
            assert seen[1].updates - live_before > 30  # period 0.05 s: ~60 expected
            sim.dead.discard(3)  # plugged back in
            await until(lambda: seen[3].availability == [False, True], timeout=2.5)
        assert seen[1].availability == [True] and seen[2].availability == [True]


async def test_a_unit_answering_exceptions_stays_online_and_keeps_being_polled() -> None:
    async with rtu_line([1, 2]) as (_, sim, link):
        sim.failing[2] = ExcCodes.DEVICE_FAILURE
        a, b = Seen(), Seen()
        link.attach(device("a", 1, a, link.settings))
        link.attach(device("b", 2, b, link.settings))
        async with running(link):
            await until(lambda: link.devices["b"].stats.exceptions >= 5)
            assert b.availability == [True]  # it answers, so it is there
            assert b.values == {} and a.updates > 0
            await sim.set(2, "count", 42)
            del sim.failing[2]
            await until(lambda: b.values.get("count") == 42)
            assert link.devices["b"].stats.timeouts == 0


async def test_crc_garbage_and_line_noise_are_survived_without_going_offline() -> None:
    async with rtu_line([1], fail_threshold=3) as (wire, sim, link):
        a = Seen()
        link.attach(device("a", 1, a, link.settings))
        async with running(link):
            await until(lambda: a.updates > 0)
            wire.corrupt_next(3, toward="host")
            wire.inject(b"\x01\x03\xff\x00\x13\x37", toward="host")
            await until(lambda: wire.stats.corrupted == 3)
            await sim.set(1, "count", 99)
            await until(lambda: a.values.get("count") == 99)
            dev = link.devices["a"]
            assert dev.stats.timeouts >= 3  # every corrupted answer was noticed and retried
            assert a.availability == [True]  # ... and none of it took the device offline
            n = a.updates
            await until(lambda: a.updates > n + 5)  # still polling


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_tcp_polls_writes_and_recovers_after_the_server_restarts() -> None:
    port = free_port()
    settings = LinkSettings.model_validate(FAST)
    link = ModbusLink.tcp("127.0.0.1", port, settings)
    a, b = Seen(), Seen()
    link.attach(device("a", 1, a, settings))
    link.attach(device("b", 2, b, settings))
    async with running(link):
        async with ModbusSim({1: PROFILE, 2: PROFILE}, tcp=("127.0.0.1", port)) as sim:
            await sim.set(2, "count", 5)
            await until(lambda: b.values.get("count") == 5)
            assert await link.write("a", WriteOp("holding", 1, (0x4142, 0x4344)))
            assert await sim.get(1, "label") == "ABCD"
        await until(lambda: a.availability[-1:] == [False])  # the gateway went away
        async with ModbusSim({1: PROFILE, 2: PROFILE}, tcp=("127.0.0.1", port)) as sim:
            await sim.set(1, "count", 77)
            await until(lambda: a.values.get("count") == 77 and a.availability[-1] is True)
            # read while the gateway is still up: once it stops, the line marks it lost again
            seen = list(a.availability)
    # started before the gateway: offline at once, then online, lost, and back
    assert seen == [False, True, False, True]


async def test_a_cancel_that_comes_as_an_answer_does_still_stops_the_line() -> None:
    """pymodbus awaits each answer with ``asyncio.wait_for``; on Python 3.11 a cancel that lands
    in the same loop pass as the answer is dropped and the answer returned. The line must stop
    anyway (the daemon's shutdown waits for it)."""
    async with rtu_line([1]) as (_, _sim, link):
        a = Seen()
        link.attach(device("a", 1, a, link.settings))
        task = asyncio.create_task(link.run())
        try:
            await until(lambda: "count" in a.values)
            # an answer awaited right now: cancel the line from that answer's own callback, so
            # the cancel comes with it (wait_for's wake-up is registered first)
            client = link._client  # the library's own transaction is the case under test
            while client is None or client.ctx.response_future.done():
                await asyncio.sleep(0)
                client = link._client
            client.ctx.response_future.add_done_callback(lambda _: task.cancel())
            await asyncio.wait([task], timeout=3)
            assert task.done(), "the line went on polling after it was cancelled"
            assert task.cancelled()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
