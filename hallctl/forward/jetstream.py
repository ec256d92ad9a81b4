"""NATS JetStream sink: each record published to `<prefix>.<hall>.<type>`, acknowledged by PubAck.

`Nats-Msg-Id` is the event id, so the stream drops a re-sent record within its duplicate window
(and `hallctl collect` drops it by id after that). A batch is pipelined: every publish of the
batch is written at once, in journal order, on one connection, and the batch counts as
delivered only when every PubAck is in. JetStream stores what one connection sends in order, so
what a failed batch left in the stream is a prefix of it, and the re-send continues in order.
Two batches are in flight at once (`pipeline = 2`), on the same connection, for the same reason.

Prefix, not merely "in order": JetStream judges each message on its own, so a message it
refuses while later ones are already on the wire would leave those later ones stored ahead of it,
and its re-send would land after them. The refusal that does not go away by itself (a 4xx-like
one, which parks the sink) is a message larger than the stream takes (`max_msg_size`, or the
server's `max_payload`). That is known before sending: `deliver` checks every message of a
batch against the limits read at `open` before it writes any, and refuses the batch with
nothing sent. The forwarder starts a batch's delivery before it reads the next batch, so
nothing after the refused record is on the wire either. (Refusals that come and go, a full
stream with `discard: new` or a leader election, are retried; docs/backends.md says what they
can do to the order.)

With `create_stream` the sink makes the stream (subjects `<prefix>.>`) when it is missing;
a city creates it centrally with its replicas instead (docs/backends.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from hallctl.forward.config import NatsSink
from hallctl.forward.contract import SinkRejected, SinkUnavailable
from hallctl.journal import Record

DUPLICATE_WINDOW_S = 600.0  # a stream made by the sink de-duplicates re-sends this long
# what a message's size counts besides its payload: the header block with Nats-Msg-Id
HEADER_BYTES = len(b"NATS/1.0\r\nNats-Msg-Id: \r\n\r\n")


async def _quiet(*_: object) -> None:
    """nats-py reports connection trouble through callbacks; the forwarder reports it instead."""


def _failure(exc: BaseException, doing: str) -> Exception:
    message = f"NATS {doing}: {type(exc).__name__}: {exc}"
    refused = (
        isinstance(exc, nats.js.errors.APIError)
        and exc.code is not None
        and exc.code < 500
        and not isinstance(exc, nats.js.errors.NotFoundError)  # a stream not made yet
    )
    return SinkRejected(message) if refused else SinkUnavailable(message)


class NatsDelivery:
    """Implements `Sink` for one JetStream stream."""

    # Two batches in flight on the one connection: the next batch is on the wire while the
    # previous one's PubAcks come back. Order holds for the reason given in the module doc.
    pipeline = 2

    def __init__(self, config: NatsSink, hall: str) -> None:
        self._config = config
        self._hall = hall
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._prefix = f"{config.subject_prefix}.{hall}."
        self._max_size = 0  # the largest message (headers + payload) the stream takes
        # Set when a delivery fails, cleared by open(): a delivery that starts after a failed
        # one (the next batch in flight) sends nothing, whatever order the forwarder starts them.
        self._broken: Exception | None = None

    async def open(self) -> None:
        if self._nc is not None and self._nc.is_connected and self._broken is None:
            return
        await self.close()
        self._broken = None
        c = self._config
        try:
            password = c.password()
        except ValueError as exc:
            raise SinkRejected(str(exc)) from None
        try:
            self._nc = await nats.connect(
                servers=c.servers,
                user=c.username,
                password=password,
                connect_timeout=c.timeout_s,
                allow_reconnect=False,  # the forwarder reconnects, from its cursor
                error_cb=_quiet,
                disconnected_cb=_quiet,
                closed_cb=_quiet,
            )
            self._js = self._nc.jetstream(timeout=c.timeout_s)
            self._max_size = min(self._nc.max_payload, await self._stream_limit(self._js))
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            await self.close()
            raise _failure(exc, "connect") from exc

    async def _stream_limit(self, js: JetStreamContext) -> int:
        """The stream's `max_msg_size` (created first with `create_stream`); read at every
        open, so raising it on the server is picked up by the parked sink's next try."""
        name = self._config.stream
        try:
            info = await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            if not self._config.create_stream:
                return sys.maxsize  # publishing will say what is wrong
            info = await js.add_stream(
                StreamConfig(
                    name=name,
                    subjects=[f"{self._config.subject_prefix}.>"],
                    duplicate_window=DUPLICATE_WINDOW_S,
                )
            )
        except nats.js.errors.APIError:
            return sys.maxsize  # may not read the stream (a publish-only account): server limit
        limit = info.config.max_msg_size
        return limit if limit is not None and limit > 0 else sys.maxsize

    def _oversized(self, records: Sequence[Record], payloads: Sequence[bytes]) -> str | None:
        for r, payload in zip(records, payloads, strict=True):
            size = HEADER_BYTES + len(r.id) + len(payload)
            if size > self._max_size:
                return (
                    f"NATS publish: event seq {r.seq} ({r.type}, id {r.id}) is {size} bytes, "
                    f"the stream {self._config.stream} takes at most {self._max_size}; "
                    "nothing of its batch was sent"
                )
        return None

    async def deliver(self, records: Sequence[Record]) -> None:
        js = self._js
        assert js is not None, "open() first"
        timeout = self._config.timeout_s
        stream = self._config.stream
        if self._broken is not None:
            raise type(self._broken)(f"not sent after an earlier batch failed: {self._broken}")
        payloads = [r.envelope_json(self._hall) for r in records]
        # Before the first await: a batch the stream would refuse in part sends nothing, and
        # no later batch sends anything until the sink is opened again.
        refused = self._oversized(records, payloads)
        if refused is not None:
            self._broken = SinkRejected(refused)
            raise self._broken
        try:
            # Tasks start in creation order and each writes its message before its first
            # wait, so the messages go out in journal order.
            async with asyncio.TaskGroup() as tg:
                for r, payload in zip(records, payloads, strict=True):
                    tg.create_task(
                        js.publish(
                            self._prefix + r.type,
                            payload,
                            timeout=timeout,
                            stream=stream,
                            headers={"Nats-Msg-Id": r.id},
                        )
                    )
        except* (nats.errors.Error, OSError, TimeoutError) as group:
            self._broken = _failure(group.exceptions[0], "publish")
            raise self._broken from None

    async def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            # closing a broken connection may fail; there is nothing left to do then
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await nc.close()
