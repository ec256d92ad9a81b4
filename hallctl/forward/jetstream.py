"""NATS JetStream sink: each record published to `<prefix>.<hall>.<type>`, acknowledged by PubAck.

`Nats-Msg-Id` is the event id, so the stream drops a re-sent record within its duplicate window
(and `hallctl collect` drops it by id after that). A batch is pipelined: every publish of the
batch is written at once, in journal order, on one connection, and the batch counts as
delivered only when every PubAck is in. JetStream stores what one connection sends in order, so
what a failed batch left in the stream is a prefix of it, and the re-send continues in order.
Two batches are in flight at once (`pipeline = 2`), on the same connection, for the same reason.

With `create_stream` the sink makes the stream (subjects `<prefix>.>`) when it is missing;
a city creates it centrally with its replicas instead (docs/backends.md).
"""

from __future__ import annotations

import asyncio
import contextlib
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

    async def open(self) -> None:
        if self._nc is not None and self._nc.is_connected:
            return
        await self.close()
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
            if c.create_stream:
                await self._ensure_stream(self._js)
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            await self.close()
            raise _failure(exc, "connect") from exc

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self._config.stream)
        except nats.js.errors.NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self._config.stream,
                    subjects=[f"{self._config.subject_prefix}.>"],
                    duplicate_window=DUPLICATE_WINDOW_S,
                )
            )

    async def deliver(self, records: Sequence[Record]) -> None:
        js = self._js
        assert js is not None, "open() first"
        timeout = self._config.timeout_s
        stream = self._config.stream
        try:
            # Tasks start in creation order and each writes its message before its first
            # wait, so the messages go out in journal order.
            async with asyncio.TaskGroup() as tg:
                for r in records:
                    tg.create_task(
                        js.publish(
                            self._prefix + r.type,
                            r.envelope_json(self._hall),
                            timeout=timeout,
                            stream=stream,
                            headers={"Nats-Msg-Id": r.id},
                        )
                    )
        except* (nats.errors.Error, OSError, TimeoutError) as group:
            raise _failure(group.exceptions[0], "publish") from None

    async def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            # closing a broken connection may fail; there is nothing left to do then
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await nc.close()
