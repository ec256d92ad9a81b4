"""ZKTeco binary TCP: hallctl's client against a simulated clock speaking the real framing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hallctl.attendance.config import ZkTcpClock, ZkTcpConfig
from hallctl.attendance.sink import AttendanceSink, StaffDirectory
from hallctl.attendance.zkteco_tcp import (
    CMD_ACK_OK,
    CMD_ACK_UNAUTH,
    CMD_CONNECT,
    CMD_REG_EVENT,
    EF_ATTLOG,
    Packet,
    PacketError,
    ZkTcpClient,
    checksum,
    encode,
    parse_realtime_attlog,
    read_packet,
)
from tests.attendance_recorder import HallRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
SESSION = 0x8DF3


def attlog_data(pin: str, state: int, when: datetime, verify: int = 15) -> bytes:
    stamp = bytes([when.year - 2000, when.month, when.day, when.hour, when.minute, when.second])
    return pin.encode().ljust(24, b"\x00") + bytes([verify, state]) + stamp + b"\x00" * 4


class SimulatedClock:
    """A clock on loopback: answers CONNECT and REG_EVENT, pushes punches, records acks."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.received: list[Packet] = []
        self.connections = 0
        self.registered = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> SimulatedClock:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.drop()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writer = writer
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                packet, _ = await read_packet(reader)
                self.received.append(packet)
                if packet.command == CMD_CONNECT:
                    answer = CMD_ACK_UNAUTH if self.refuse else CMD_ACK_OK
                    writer.write(encode(Packet(answer, SESSION, packet.reply)))
                elif packet.command == CMD_REG_EVENT:
                    writer.write(encode(Packet(CMD_ACK_OK, SESSION, packet.reply)))
                    self.registered.set()

    def send(self, raw: bytes) -> None:
        assert self._writer is not None
        self._writer.write(raw)

    def punch(self, pin: str, state: int, when: datetime) -> None:
        self.send(encode(Packet(CMD_REG_EVENT, EF_ATTLOG, 0, attlog_data(pin, state, when))))

    def drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self.registered.clear()

    def acks(self) -> list[Packet]:
        return [p for p in self.received if p.command == CMD_ACK_OK]


@pytest.fixture
def hall() -> HallRecorder:
    return HallRecorder()


@pytest.fixture
async def clock() -> AsyncIterator[SimulatedClock]:
    async with SimulatedClock() as simulated:
        yield simulated


@pytest.fixture
async def client(clock: SimulatedClock, hall: HallRecorder) -> AsyncIterator[ZkTcpClient]:
    sink = AttendanceSink(hall, StaffDirectory({"105": "S005"}), now=lambda: NOW)
    config = ZkTcpConfig(clocks=[ZkTcpClock(host="127.0.0.1", port=clock.port, device="clk-4")])
    zk = ZkTcpClient(config.clocks[0], config, sink, SHANGHAI, first_retry_s=0.05)
    task = asyncio.create_task(zk.run())
    yield zk
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def until(condition: Callable[[], bool]) -> None:
    """Poll: the client and the simulated clock share no event to wait on."""
    async with asyncio.timeout(3):
        for _ in itertools.count():
            if condition():
                return
            await asyncio.sleep(0.01)


def test_checksum_matches_the_published_test_vectors() -> None:
    # Payloads from the public protocol description, checksum field zeroed.
    first = bytes.fromhex("0b000000f38d03005a4b4661636556657273696f6e00")
    assert checksum(first) == 0x175A
    assert checksum(bytes.fromhex("d0070000f38d0a0009")) == 0x6A29


def test_a_packet_has_the_documented_header() -> None:
    raw = encode(Packet(CMD_CONNECT, 0, 0))
    assert raw[:4] == bytes.fromhex("5050827d")
    assert struct.unpack("<HH", raw[4:8]) == (8, 0)
    assert struct.unpack("<H", raw[8:10])[0] == CMD_CONNECT


async def test_reading_skips_junk_and_refuses_a_corrupted_packet() -> None:
    reader = asyncio.StreamReader()
    good = encode(Packet(CMD_ACK_OK, SESSION, 3, b"xyz"))
    corrupted = bytearray(encode(Packet(CMD_ACK_OK, SESSION, 4, b"abc")))
    corrupted[-1] ^= 0xFF
    reader.feed_data(b"\x00garbage" + good + bytes(corrupted) + good)
    reader.feed_eof()
    assert await read_packet(reader) == (Packet(CMD_ACK_OK, SESSION, 3, b"xyz"), 8)
    with pytest.raises(PacketError, match="checksum"):
        await read_packet(reader)
    assert (await read_packet(reader))[0].reply == 3


def test_realtime_record_parses_pin_state_and_local_time() -> None:
    punch = parse_realtime_attlog(attlog_data("105", 1, NOW), SHANGHAI)
    assert punch is not None
    assert (punch.pin, punch.state, punch.verify, punch.time) == ("105", 1, 15, NOW)
    assert parse_realtime_attlog(b"\x00" * 10, SHANGHAI) is None
    bad_date = attlog_data("105", 0, NOW)[:26] + bytes([26, 13, 40, 0, 0, 0])
    assert parse_realtime_attlog(bad_date, SHANGHAI) is None


async def test_client_connects_registers_for_attendance_and_records_punches(
    clock: SimulatedClock, client: ZkTcpClient, hall: HallRecorder
) -> None:
    await until(client.connected.is_set)
    connect, register = clock.received[:2]
    assert (connect.command, connect.session, connect.reply) == (CMD_CONNECT, 0, 0)
    assert (register.command, register.session) == (CMD_REG_EVENT, SESSION)
    assert register.data == struct.pack("<I", EF_ATTLOG)

    clock.punch("105", 0, datetime(2026, 11, 25, 8, 59, 1, tzinfo=SHANGHAI))
    clock.punch("105", 1, datetime(2026, 11, 25, 9, 12, 0, tzinfo=SHANGHAI))
    await until(lambda: len(hall.applied) == 2)
    assert hall.punches() == [
        ("staff_check_in", "S005", "clk-4", "2026-11-25T08:59:01+08:00"),
        ("staff_check_out", "S005", "clk-4", "2026-11-25T09:12:00+08:00"),
    ]
    await until(lambda: len(clock.acks()) == 2)
    assert all(ack.session == SESSION for ack in clock.acks())


async def test_line_noise_between_packets_does_not_lose_the_next_punch(
    clock: SimulatedClock, client: ZkTcpClient, hall: HallRecorder
) -> None:
    await until(client.connected.is_set)
    clock.send(b"\x13\x37 noise")
    clock.punch("105", 0, datetime(2026, 11, 25, 8, 59, 1, tzinfo=SHANGHAI))
    await until(lambda: len(hall.applied) == 1)
    assert client.stats["junk_bytes"] == 8


async def test_after_the_clock_drops_the_link_the_client_comes_back(
    clock: SimulatedClock, client: ZkTcpClient, hall: HallRecorder
) -> None:
    await until(client.connected.is_set)
    clock.drop()
    await until(lambda: clock.connections == 2 and clock.registered.is_set())
    clock.punch("105", 0, datetime(2026, 11, 25, 8, 59, 1, tzinfo=SHANGHAI))
    await until(lambda: len(hall.applied) == 1)
    assert client.stats["disconnect"] >= 1


async def test_a_clock_that_wants_a_comm_key_is_retried_not_fatal(hall: HallRecorder) -> None:
    async with SimulatedClock(refuse=True) as refusing:
        sink = AttendanceSink(hall, StaffDirectory({}), now=lambda: NOW)
        config = ZkTcpConfig(
            clocks=[ZkTcpClock(host="127.0.0.1", port=refusing.port, device="clk-9")]
        )
        zk = ZkTcpClient(config.clocks[0], config, sink, SHANGHAI, first_retry_s=0.02)
        task = asyncio.create_task(zk.run())
        try:
            await until(lambda: refusing.connections >= 2)
            assert not zk.connected.is_set()
            assert not task.done()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
