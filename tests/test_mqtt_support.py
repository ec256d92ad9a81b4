"""Shared parts of the MQTT tests (no tests here): an engine stand-in over the real journal,
a recording subscriber, a requester, and a link runner for a child process.

The stand-in implements the HallEngine façade the link needs (execute, last_seq, wait_beyond,
retained_state, journal, hall_id) with a tiny fixed vocabulary, so these tests exercise the
MQTT side against a real journal and a real Mosquitto without depending on the hall core.

Run as a script it starts a link and prints `ONLINE` once the link is online:
    python tests/test_mqtt_support.py URL JOURNAL_PATH HALL_ID
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hallctl.forward.forwarder import SinkEngine, SinkForwarder
from hallctl.forward.sinks import mqtt_forwarder
from hallctl.journal import Journal, PendingEvent, Record
from hallctl.mqtt.link import MqttLink
from hallctl.mqtt.settings import MqttSettings

# A subscriber that falls behind must not lose QoS 1 messages in the broker's per-client
# queue (mosquitto drops beyond 1000 by default); that would be a test artefact, not a bug.
BROKER_OPTIONS = "max_queued_messages 0"

_ids = itertools.count()


def _event_id() -> str:
    # Time-sortable and unique, like the engine's ids.
    return f"{time.time_ns():020d}-{next(_ids):06d}"


class StandInEngine:
    """The HallEngine façade over a real Journal, with a few toy actions.

    Actions: `open_window` {window} (journals window.opened, updates state/windows/<n>),
    `take_ticket` {service} (journals ticket.issued), `status` (read-only),
    `slow` (waits until `release_slow` is set). Anything else: `unknown_action`.
    A repeated request_id returns the first answer and journals nothing.
    """

    def __init__(self, journal: Journal, hall_id: str = "h1") -> None:
        self.hall_id = hall_id
        self.journal = journal
        self.state: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.release_slow = asyncio.Event()
        self._answers: dict[str, dict[str, Any]] = {}
        self._last = journal.last_seq()
        self._changed = asyncio.Condition()

    # -- façade ------------------------------------------------------------------------

    def last_seq(self) -> int:
        return self._last

    def now(self) -> datetime:
        return datetime.now().astimezone()

    async def wait_beyond(self, seq: int) -> int:
        async with self._changed:
            await self._changed.wait_for(lambda: self._last > seq)
            return self._last

    def retained_state(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.state)

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self.requests.append(dict(request))
        rid = request.get("request_id")
        if isinstance(rid, str) and rid in self._answers:
            return self._answers[rid]
        answer = await self._do(request)
        if isinstance(rid, str):
            self._answers[rid] = answer
        return answer

    # -- test helpers --------------------------------------------------------------------

    async def append(
        self, event_type: str, data: Mapping[str, Any] | None = None, *, count: int = 1,
        request_id: str | None = None,
    ) -> list[Record]:
        now = datetime.now().astimezone()
        events = [
            PendingEvent(
                id=_event_id(), type=event_type, ts=now.isoformat(), day=now.date().isoformat(),
                request_id=request_id, v=1, data=json.dumps({**(data or {}), "n": i}),
            )
            for i in range(count)
        ]
        records = await asyncio.to_thread(self.journal.append, events)
        async with self._changed:
            self._last = records[-1].seq
            self._changed.notify_all()
        return records

    async def _do(self, request: Mapping[str, Any]) -> dict[str, Any]:
        action = request.get("action")
        if action == "open_window":
            window = request.get("window")
            if not isinstance(window, int):
                return _error("bad_field", "window must be an integer")
            self.state[f"state/windows/{window}"] = {"window": window, "status": "open"}
            records = await self.append(
                "window.opened", {"window": window}, request_id=request.get("request_id")
            )
            return {"ok": True, "result": {"window": window, "seq": records[-1].seq}}
        if action == "take_ticket":
            records = await self.append(
                "ticket.issued", {"service": request.get("service")},
                request_id=request.get("request_id"),
            )
            return {"ok": True, "result": {"seq": records[-1].seq}}
        if action == "status":
            return {"ok": True, "result": {"last_seq": self._last}}
        if action == "slow":
            await self.release_slow.wait()
            return {"ok": True, "result": {"slow": True}}
        return _error("unknown_action", f"no action {action!r}")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "message_zh": "错误"}}


def settings_for(url: str, **overrides: Any) -> MqttSettings:
    """Link settings tuned for tests: fast reconnects, fast state updates."""
    values: dict[str, Any] = {
        "url": url, "reconnect_min_s": 0.05, "reconnect_max_s": 0.5, "state_interval_ms": 50,
        "keepalive": 5,
    }
    return MqttSettings(**(values | overrides))


@asynccontextmanager
async def running_link(engine: StandInEngine, settings: MqttSettings) -> AsyncIterator[MqttLink]:
    """The link and the MQTT sink's forwarder, as the daemon runs them (events forwarded)."""
    async with MqttLink(engine, settings) as link, running_forwarder(engine, settings):
        await asyncio.wait_for(link.wait_online(), 10)
        yield link


@asynccontextmanager
async def running_forwarder(
    engine: SinkEngine, settings: MqttSettings
) -> AsyncIterator[SinkForwarder]:
    """The MQTT sink's forwarder alone (its own connection, cursor `mqtt`)."""
    forwarder = mqtt_forwarder(engine, settings)
    task = asyncio.create_task(forwarder.run())
    try:
        yield forwarder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def client_for(url: str, **options: Any) -> aiomqtt.Client:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return aiomqtt.Client(
        parts.hostname, parts.port, protocol=aiomqtt.ProtocolVersion.V5, **options
    )


def persistent_backend() -> dict[str, Any]:
    """`client_for` options of a back end with a persistent session (as in production): the
    broker queues its QoS 1 messages while it is away, across the broker's restart too."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    return {"identifier": "backend", "clean_start": False, "properties": props}


@dataclass
class Collector:
    """Messages seen by a subscriber, in arrival order."""

    messages: list[aiomqtt.Message] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _events: list[dict[str, Any]] = field(default_factory=list)
    _parsed: int = 0

    def on(self, topic: str) -> list[aiomqtt.Message]:
        return [m for m in self.messages if m.topic.value == topic]

    def payloads(self, topic: str) -> list[bytes]:
        return [bytes(m.payload) for m in self.on(topic)]

    def last(self, topic: str) -> bytes | None:
        found = self.payloads(topic)
        return found[-1] if found else None

    def events(self) -> list[dict[str, Any]]:
        """Envelopes received on `…/events/…`, parsed once (conditions call this often)."""
        for message in self.messages[self._parsed:]:
            if "/events/" in message.topic.value:
                self._events.append(json.loads(message.payload))
        self._parsed = len(self.messages)
        return self._events

    def add(self, message: aiomqtt.Message) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def wait_until(self, condition: Callable[[], bool], within_s: float = 10) -> None:
        async def loop() -> None:
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()

        try:
            await asyncio.wait_for(loop(), within_s)
        except TimeoutError:
            raise AssertionError(
                f"condition not met within {within_s}s; {len(self.messages)} messages seen"
            ) from None


@asynccontextmanager
async def subscribed(
    url: str, *filters: str, **client_options: Any
) -> AsyncIterator[Collector]:
    collector = Collector()
    async with client_for(url, **client_options) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)

        async def pump() -> None:
            async for message in client.messages:
                collector.add(message)

        task = asyncio.create_task(pump())
        try:
            yield collector
        finally:
            task.cancel()


class Requester:
    """A back end sending MQTT 5 requests and matching responses by correlation data."""

    def __init__(self, client: aiomqtt.Client, base: str, response_topic: str) -> None:
        self.client = client
        self.base = base
        self.response_topic = response_topic
        self.responses: dict[bytes, asyncio.Future[dict[str, Any]]] = {}

    async def send(
        self, action: str, payload: bytes | dict[str, Any] | list[Any] | None = None, *,
        correlation: bytes | None = None, response_topic: str | None = "default",
    ) -> bytes:
        correlation = correlation or uuid.uuid4().bytes
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if response_topic is not None:
            props.ResponseTopic = (
                self.response_topic if response_topic == "default" else response_topic
            )
        props.CorrelationData = correlation
        body = payload if isinstance(payload, bytes) else json.dumps(payload or {}).encode()
        self.responses.setdefault(correlation, asyncio.get_running_loop().create_future())
        await self.client.publish(f"{self.base}/request/{action}", body, qos=1, properties=props)
        return correlation

    async def call(self, action: str, payload: Any = None, **kw: Any) -> dict[str, Any]:
        correlation = await self.send(action, payload, **kw)
        return await asyncio.wait_for(self.responses[correlation], 10)


@asynccontextmanager
async def requester(url: str, base: str) -> AsyncIterator[Requester]:
    response_topic = f"backend/responses/{uuid.uuid4().hex[:8]}"
    async with client_for(url) as client:
        await client.subscribe(response_topic, qos=1)
        req = Requester(client, base, response_topic)

        async def pump() -> None:
            async for message in client.messages:
                correlation: bytes = getattr(message.properties, "CorrelationData", b"")
                future = req.responses.setdefault(
                    correlation, asyncio.get_running_loop().create_future()
                )
                if not future.done():
                    future.set_result(json.loads(message.payload))

        task = asyncio.create_task(pump())
        try:
            yield req
        finally:
            task.cancel()


async def _main(url: str, journal_path: str, hall_id: str) -> None:
    with Journal(Path(journal_path)) as journal:
        engine = StandInEngine(journal, hall_id)
        async with running_link(engine, settings_for(url)):
            print("ONLINE", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:4]))
