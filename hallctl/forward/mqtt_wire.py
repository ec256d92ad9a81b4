"""A publish-only MQTT 5 client for forwarding: QoS 1 PUBLISH out, PUBACK in, nothing else.

Why our own and not paho or gmqtt: forwarding is the one hot path of the link (about 1.4
events per command). Measured here (docs/performance.md, "The client layer"), a bare QoS 1
loop costs about 54 µs of CPU a message through paho (an MQTT 5 Properties and a ReasonCode
object per PUBACK, its in-flight accounting), 15 µs through gmqtt (which cannot report a
refused publish: it ignores PUBACK reason codes) and 5 µs through this client, which does only
what forwarding needs: a PUBACK is two bytes read, a dict pop and a counter. Everything else MQTT
(subscriptions, request/response, retained state, the last will) stays on the link's aiomqtt
connection, which is not hot.

What it speaks (MQTT 5.0, OASIS standard): CONNECT with clean start, keepalive, username and
password; CONNACK (a reason code >= 0x80 is a refused connection; the server's Receive Maximum
caps the window); PUBLISH QoS 1 with packet ids; PUBACK with its optional reason code (>= 0x80:
the broker refused that message, e.g. not authorised by its ACL); PINGREQ/PINGRESP keepalive (no
answer within a keepalive: the connection is dead); DISCONNECT both ways. TLS is the loop's
(`create_connection(ssl=...)`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct

CONNACK, PUBLISH_QOS1, PUBACK, PINGREQ, PINGRESP, DISCONNECT = 0x20, 0x32, 0x40, 0xC0, 0xD0, 0xE0
# Reason codes a refused PUBLISH may carry that go away on their own: retried, not parked.
TRANSIENT = {0x97: "quota exceeded", 0x89: "server busy", 0x88: "server unavailable"}
REASONS = {
    0x80: "unspecified error", 0x83: "implementation specific error", 0x84: "unsupported "
    "protocol version", 0x85: "client identifier not valid", 0x86: "bad user name or password",
    0x87: "not authorized", 0x88: "server unavailable", 0x89: "server busy", 0x8A: "banned",
    0x8C: "bad authentication method", 0x90: "topic name invalid", 0x95: "packet too large",
    0x97: "quota exceeded", 0x99: "payload format invalid", 0x9A: "retain not supported",
    0x9B: "QoS not supported", 0x9D: "server moved", 0x9F: "connection rate exceeded",
}


class WireError(ConnectionError):
    """The connection failed or was refused; `reason` is the MQTT reason code if there is one."""

    def __init__(self, message: str, reason: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class PublishRefused(Exception):
    """The broker answered a PUBLISH with a PUBACK reason code >= 0x80."""

    def __init__(self, topic: str, reason: int) -> None:
        name = REASONS.get(reason, "refused")
        super().__init__(f"broker refused a publish to {topic}: {name} (0x{reason:02X})")
        self.topic = topic
        self.reason = reason

    @property
    def transient(self) -> bool:
        return self.reason in TRANSIENT


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | 0x80 if n else digit)
        if not n:
            return bytes(out)


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def connect_packet(
    client_id: str, keepalive: int, username: str | None, password: str | None
) -> bytes:
    flags = 0x02  # clean start: the journal, not the broker's session, is our queue
    payload = _str(client_id)
    if username is not None:
        flags |= 0x80
        payload += _str(username)
    if password is not None:
        flags |= 0x40
        payload += _str(password)
    body = _str("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive) + b"\x00" + payload
    return bytes([0x10]) + _varint(len(body)) + body


class Batch:
    """The PUBACKs one delivery waits for; `done` resolves when the last is in or one refuses."""

    __slots__ = ("done", "left")

    def __init__(self, count: int) -> None:
        self.left = count
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if count == 0:
            self.done.set_result(None)


class MqttPublisher(asyncio.Protocol):
    """One connection. `connect()`, then `publish()` within `window`, `flush()`, `close()`."""

    def __init__(self, window: int, keepalive: int) -> None:
        self.window = window
        self.keepalive = keepalive
        self.outstanding = 0
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()  # incoming bytes not yet a whole packet
        self._out: list[bytes] = []  # outgoing packets not yet written (flush)
        self._pending: dict[int, tuple[Batch, str]] = {}  # packet id -> (batch, topic)
        self._next_id = 0
        self._connack: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._pinged = False
        self._ping_timer: asyncio.TimerHandle | None = None

    # -- lifetime --------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        keepalive: int = 30,
        window: int = 100,
        tls: ssl.SSLContext | None = None,
        connect_timeout_s: float = 10.0,
    ) -> MqttPublisher:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(connect_timeout_s):
            _, proto = await loop.create_connection(
                lambda: cls(window, keepalive), host, port, ssl=tls,
                server_hostname=host if tls is not None else None,
            )
            try:
                await proto._handshake(client_id, username, password)
            except BaseException:
                proto.abort()
                raise
        return proto

    async def _handshake(self, client_id: str, username: str | None, password: str | None) -> None:
        loop = asyncio.get_running_loop()
        self._connack = loop.create_future()
        self._write(connect_packet(client_id, self.keepalive, username, password))
        await self._connack
        self._ping_timer = loop.call_later(self.keepalive, self._ping)

    async def close(self) -> None:
        """DISCONNECT (normal) and wait for the socket to close; never raises."""
        transport = self._transport
        if transport is None or transport.is_closing():
            self.abort()
            return
        self._write(b"\xe0\x00")
        transport.close()
        if self._closed is not None:
            with contextlib.suppress(Exception, TimeoutError):
                async with asyncio.timeout(2):
                    await asyncio.shield(self._closed)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # -- publishing ------------------------------------------------------------------------

    def publish(self, topic: str, topic_bytes: bytes, payload: bytes, batch: Batch) -> None:
        """Queue one QoS 1 PUBLISH (call `flush()` to write); keep `outstanding < window`.

        `topic_bytes` is the topic already length-prefixed (`_str(topic)`): a forwarder
        sends thousands of messages to a handful of topics."""
        if self._error is not None:
            raise self._error
        pid = self._next_id % 65535 + 1
        while pid in self._pending:
            pid = pid % 65535 + 1
        self._next_id = pid
        self._pending[pid] = (batch, topic)
        self.outstanding += 1
        n = len(topic_bytes) + 3 + len(payload)  # + packet id + empty properties
        if n < 128:
            head = bytes((PUBLISH_QOS1, n))
        elif n < 16384:
            head = bytes((PUBLISH_QOS1, n & 0x7F | 0x80, n >> 7))
        else:
            head = bytes((PUBLISH_QOS1,)) + _varint(n)
        self._out.append(head + topic_bytes + pid.to_bytes(2, "big") + b"\x00" + payload)

    def flush(self) -> None:
        if self._out and self._transport is not None:
            self._transport.writelines(self._out)
        self._out.clear()

    async def wait_for_room(self) -> None:
        """Until fewer than `window` publishes await their PUBACK (or the connection fails)."""
        self.flush()
        while self.outstanding >= self.window:
            if self._error is not None:
                raise self._error
            self._room = asyncio.get_running_loop().create_future()
            await self._room

    @staticmethod
    def topic(topic: str) -> bytes:
        return _str(topic)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._ping_timer is not None:
            self._ping_timer.cancel()
        if self._error is None:
            self._error = WireError(f"connection lost: {exc}" if exc else "connection closed")
        self._fail_all(self._error)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        pos, end = 0, len(buf)
        pending = self._pending
        while end - pos >= 2:
            kind = buf[pos]
            n = buf[pos + 1]
            head = 2
            if n & 0x80:  # longer packets (MQTT 5 reason strings): a full varint
                n, shift, head = 0, 0, 1
                while True:
                    if pos + head >= end:
                        del buf[:pos]
                        return
                    digit = buf[pos + head]
                    head += 1
                    n |= (digit & 0x7F) << shift
                    shift += 7
                    if not digit & 0x80:
                        break
                    if head > 4:
                        self._protocol_error("malformed remaining length")
                        return
            if end - pos < head + n:
                break
            start = pos + head
            pos = start + n
            if kind == PUBACK:
                entry = pending.pop((buf[start] << 8) | buf[start + 1], None)
                if entry is None:
                    continue  # not ours (cannot happen on this connection): ignore
                batch, topic = entry
                self.outstanding -= 1
                if n > 2 and buf[start + 2] >= 0x80:
                    if not batch.done.done():
                        batch.done.set_exception(PublishRefused(topic, buf[start + 2]))
                else:
                    batch.left -= 1
                    if batch.left == 0 and not batch.done.done():
                        batch.done.set_result(None)
                room = self._room
                if room is not None and not room.done():
                    room.set_result(None)
            elif kind == PINGRESP:
                self._pinged = False
            elif kind == CONNACK:
                self._on_connack(bytes(buf[start:pos]))
            elif kind & 0xF0 == DISCONNECT:
                reason = buf[start] if n else 0
                self._error = WireError(
                    f"broker disconnected: {REASONS.get(reason, 'normal')} (0x{reason:02X})",
                    reason)
                self.abort()
                break
            else:
                self._protocol_error(f"unexpected packet type 0x{kind:02X}")
                return
        del buf[:pos]

    # -- internals -------------------------------------------------------------------------

    def _on_connack(self, body: bytes) -> None:
        fut = self._connack
        if fut is None or fut.done() or len(body) < 2:
            self._protocol_error("unexpected CONNACK")
            return
        reason = body[1]
        if reason >= 0x80:
            fut.set_exception(WireError(
                f"broker refused the connection: {REASONS.get(reason, 'refused')} "
                f"(0x{reason:02X})", reason))
            return
        receive_max = _receive_maximum(body[2:])
        if receive_max is not None:
            self.window = min(self.window, receive_max)
        fut.set_result(None)

    def _ping(self) -> None:
        if self._pinged:  # no PINGRESP within a whole keepalive: the connection is dead
            self._error = WireError(f"no answer from the broker for {self.keepalive} s")
            self.abort()
            return
        self._pinged = True
        self._write(b"\xc0\x00")
        self._ping_timer = asyncio.get_running_loop().call_later(self.keepalive, self._ping)

    def _write(self, packet: bytes) -> None:
        self.flush()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(packet)

    def _protocol_error(self, what: str) -> None:
        self._error = WireError(f"MQTT protocol error: {what}")
        self.abort()

    def _fail_all(self, error: BaseException) -> None:
        # A waiter gets the error as usual; a future nobody awaits any more (a delivery
        # cancelled as the sink stops) is marked seen, not logged as "never retrieved".
        for batch, _ in self._pending.values():
            if not batch.done.done():
                batch.done.set_exception(error)
                batch.done.exception()
        self._pending.clear()
        self.outstanding = 0
        for fut in (self._room, self._connack):
            if fut is not None and not fut.done():
                fut.set_exception(error)
                fut.exception()


def _receive_maximum(rest: bytes) -> int | None:
    """Receive Maximum (property 0x21) from CONNACK properties, if the server sent one."""
    if not rest:
        return None
    length, shift, i = 0, 0, 0
    while True:
        digit = rest[i]
        i += 1
        length |= (digit & 0x7F) << shift
        shift += 7
        if not digit & 0x80:
            break
    props, i = rest[i:i + length], 0
    while i < len(props):
        ident = props[i]
        i += 1
        if ident == 0x21:
            return int.from_bytes(props[i:i + 2], "big")
        i += _property_size(ident, props, i)
    return None


_FIXED = {0x01: 1, 0x02: 4, 0x11: 4, 0x13: 2, 0x17: 1, 0x18: 4, 0x19: 1, 0x21: 2, 0x22: 2,
          0x23: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1}


def _property_size(ident: int, props: bytes, i: int) -> int:
    if ident in _FIXED:
        return _FIXED[ident]
    if ident == 0x26:  # user property: two strings
        first = 2 + int.from_bytes(props[i:i + 2], "big")
        return first + 2 + int.from_bytes(props[i + first:i + first + 2], "big")
    if ident == 0x0B:  # subscription identifier: a varint
        j = i
        while props[j] & 0x80:
            j += 1
        return j - i + 1
    return 2 + int.from_bytes(props[i:i + 2], "big")  # a string or binary data

