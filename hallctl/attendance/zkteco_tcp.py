"""ZKTeco binary protocol over TCP (port 4370): hallctl connects and listens for realtime punches.

For clocks without push (ADMS) firmware. Written from the public protocol description, not from
any client library. A packet is

    50 50 82 7D | payload length u16 LE | 00 00 | payload
    payload = command u16 | checksum u16 | session id u16 | reply number u16 | data   (all LE)

The checksum is the 16-bit one's complement of the sum of the payload's little-endian words
(checksum field taken as zero, odd length padded with a zero byte, carries folded back in).

Conversation: CONNECT (1000) → ACK_OK (2000) carrying our session id; REG_EVENT (500) with flag
1 (attendance log) → ACK_OK; then the clock sends realtime packets: command REG_EVENT, the event
code in the session field, reply number 0; each is answered ACK_OK with our session id and the
packet's reply number. A realtime attendance record is the PIN (ASCII, NUL-padded to 24 bytes),
the verify method (byte 24), the attendance state (byte 25: 0 check-in, 1 check-out…) and the
time as six bytes year-2000, month, day, hour, minute, second in the clock's local time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from hallctl.attendance.config import ZkTcpClock, ZkTcpConfig
from hallctl.attendance.records import AttendanceRecord, record_key
from hallctl.attendance.sink import AttendanceSink

log = structlog.get_logger(__name__)

MAGIC = b"\x50\x50\x82\x7d"
CMD_REG_EVENT = 500
CMD_CONNECT = 1000
CMD_EXIT = 1001
CMD_ACK_OK = 2000
CMD_ACK_UNAUTH = 2005
EF_ATTLOG = 1

_HEADER = struct.Struct("<4sHH")
_PAYLOAD_HEAD = struct.Struct("<HHHH")
_MAX_PAYLOAD = 64 * 1024  # realtime packets are tens of bytes; anything huge is line noise


class PacketError(ValueError):
    """A packet that cannot be trusted (bad checksum, absurd length)."""


class HandshakeError(ConnectionError):
    """The clock refused the session (e.g. it wants a comm key)."""


@dataclass(frozen=True, slots=True)
class Packet:
    command: int
    session: int  # for realtime packets: the event code
    reply: int
    data: bytes = b""


def checksum(payload: bytes) -> int:
    """One's complement of the LE 16-bit word sum; `payload` has its checksum field zeroed."""
    if len(payload) % 2:
        payload += b"\x00"
    total: int = sum(int(word) for (word,) in struct.iter_unpack("<H", payload))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def encode(packet: Packet) -> bytes:
    body = _PAYLOAD_HEAD.pack(packet.command, 0, packet.session, packet.reply) + packet.data
    body = body[:2] + struct.pack("<H", checksum(body)) + body[4:]
    return _HEADER.pack(MAGIC, len(body), 0) + body


async def read_packet(reader: asyncio.StreamReader) -> tuple[Packet, int]:
    """The next packet and the number of junk bytes skipped to find it."""
    try:
        skipped = len(await reader.readuntil(MAGIC)) - len(MAGIC)
    except asyncio.LimitOverrunError as exc:
        # No start marker in the buffer: drop what is there and let the caller read on.
        await reader.readexactly(exc.consumed)
        raise PacketError("no packet start in " + str(exc.consumed) + " bytes") from exc
    length, _zeros = struct.unpack("<HH", await reader.readexactly(4))
    if length < _PAYLOAD_HEAD.size or length > _MAX_PAYLOAD:
        raise PacketError("bad payload length " + str(length))
    body = await reader.readexactly(length)
    command, received, session, reply = _PAYLOAD_HEAD.unpack_from(body)
    if checksum(body[:2] + b"\x00\x00" + body[4:]) != received:
        raise PacketError("checksum mismatch")
    return Packet(command, session, reply, body[_PAYLOAD_HEAD.size :]), skipped


@dataclass(frozen=True, slots=True)
class RealtimePunch:
    pin: str
    verify: int
    state: int
    time: datetime


def parse_realtime_attlog(data: bytes, zone: ZoneInfo) -> RealtimePunch | None:
    if len(data) < 32:
        return None
    pin = data[:24].split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()
    year, month, day, hour, minute, second = data[26:32]
    try:
        when = datetime(2000 + year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
    if not pin or not pin.isalnum():
        return None
    return RealtimePunch(pin=pin, verify=data[24], state=data[25], time=when)


class ZkTcpClient:
    """Keeps one clock connected and feeds its realtime punches to the sink; never gives up."""

    def __init__(
        self,
        clock: ZkTcpClock,
        config: ZkTcpConfig,
        sink: AttendanceSink,
        zone: ZoneInfo,
        *,
        first_retry_s: float = 1.0,
    ) -> None:
        self._clock = clock
        self._first_retry = first_retry_s
        self._config = config
        self._sink = sink
        self._zone = zone
        self.stats: Counter[str] = Counter()
        self.connected = asyncio.Event()

    async def run(self) -> None:
        delay = self._first_retry
        while True:
            try:
                await self._session()
            except (OSError, asyncio.IncompleteReadError, TimeoutError, HandshakeError) as exc:
                if self.connected.is_set():
                    delay = self._first_retry  # it was up: a fresh outage, not a long one
                self.stats["disconnect"] += 1
                log.warning(
                    "zk_tcp.disconnected",
                    device=self._clock.device,
                    error=type(exc).__name__,
                    detail=str(exc),
                    retry_s=delay,
                )
            finally:
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._config.reconnect_max_s)

    async def _session(self) -> None:
        timeout = self._config.timeout_s
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(self._clock.host, self._clock.port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Realtime links are idle for hours; keepalive notices a clock that lost power.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        try:
            connect = await self._request(reader, writer, Packet(CMD_CONNECT, 0, 0))
            if connect.command != CMD_ACK_OK:
                raise HandshakeError("CONNECT answered " + str(connect.command))
            session = connect.session
            flags = struct.pack("<I", EF_ATTLOG)
            registered = await self._request(
                reader, writer, Packet(CMD_REG_EVENT, session, 1, flags)
            )
            if registered.command != CMD_ACK_OK:
                raise HandshakeError("REG_EVENT answered " + str(registered.command))
            self.connected.set()
            log.info("zk_tcp.connected", device=self._clock.device, session=session)
            while True:
                packet = await self._next(reader)
                if packet is not None and packet.command == CMD_REG_EVENT:
                    await self._realtime(writer, session, packet)
        finally:
            with contextlib.suppress(OSError):
                writer.close()
                await writer.wait_closed()

    async def _request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, packet: Packet
    ) -> Packet:
        writer.write(encode(packet))
        await writer.drain()
        async with asyncio.timeout(self._config.timeout_s):
            while True:
                answer = await self._next(reader)
                if answer is not None and answer.command != CMD_REG_EVENT:
                    return answer

    async def _next(self, reader: asyncio.StreamReader) -> Packet | None:
        try:
            packet, skipped = await read_packet(reader)
        except PacketError as exc:
            self.stats["bad_packet"] += 1
            log.warning("zk_tcp.bad_packet", device=self._clock.device, reason=str(exc))
            return None
        if skipped:
            self.stats["junk_bytes"] += skipped
        return packet

    async def _realtime(self, writer: asyncio.StreamWriter, session: int, packet: Packet) -> None:
        writer.write(encode(Packet(CMD_ACK_OK, session, packet.reply)))
        await writer.drain()
        if packet.session != EF_ATTLOG:
            self.stats["other_event"] += 1
            return
        punch = parse_realtime_attlog(packet.data, self._zone)
        if punch is None:
            self.stats["malformed"] += 1
            log.warning("zk_tcp.malformed_attlog", device=self._clock.device, size=len(packet.data))
            return
        direction = self._config.status_map.get(punch.state)
        if direction is None:
            self.stats["unmapped_status"] += 1
            return
        self.stats["punch"] += 1
        record = AttendanceRecord(
            device=self._clock.device,
            source="zkteco_tcp",
            staff_external_id=punch.pin,
            time=punch.time,
            direction=direction,
            record_key=record_key(punch.pin, punch.time),
        )
        # A realtime packet is not resent; a punch the hall missed stays in the clock's log.
        await self._sink.deliver([record])
