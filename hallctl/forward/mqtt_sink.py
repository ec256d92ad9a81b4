"""The MQTT sink: journal records to `<base>/events/<type>`, QoS 1, in order, at least once.

Run by the generic `SinkForwarder` like every other back end: its durable cursor is `mqtt`
(the name it always had, so a journal forwarded before continues where it was), its health is
`state/sinks/mqtt`, and the `mqtt.forward` section selects records and the start position.
A batch is published with up to `max_inflight` messages awaiting their PUBACK (pipelining),
and two batches overlap (`pipeline = 2`): the next one is on the wire while the previous
waits for its last PUBACKs; `deliver` returns only when every PUBACK of its batch is in, and
only then may the forwarder move the cursor. If the connection drops mid-batch, the
forwarder reconnects and sends again from the durable cursor: a subscriber may see a record
twice (same `id`), never out of order once repeats are dropped, never missing.

It has its own connection (client id `<client_id>-fwd`, the link's broker settings: TLS,
user and password, keepalive) through the publish-only client of `mqtt_wire`, measured
fastest here (docs/performance.md); the link's aiomqtt connection keeps requests, retained
state and the online/offline will.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hallctl.forward.config import SinkCommon
from hallctl.forward.contract import SinkRejected, SinkUnavailable
from hallctl.forward.mqtt_wire import Batch, MqttPublisher, PublishRefused, WireError
from hallctl.journal import Envelopes, Record
from hallctl.mqtt.settings import MqttSettings
from hallctl.mqtt.topics import Topics

CURSOR = "mqtt"
CONNECT_TIMEOUT_S = 10.0


class MqttForwarderConfig(SinkCommon):
    """The MQTT sink's forwarder settings, made from the `mqtt:` section (not a `sinks:` entry)."""

    @property
    def cursor(self) -> str:
        return CURSOR

    @classmethod
    def of(cls, settings: MqttSettings) -> MqttForwarderConfig:
        f = settings.forward
        return cls(
            name="mqtt", events=f.events, exclude_events=f.exclude_events,
            drop_fields=f.drop_fields, start=f.start, park_retry_s=f.park_retry_s,
            batch=settings.forward_batch,
            # the link's reconnect pacing: a broker outage is the usual failure
            retry_min_s=settings.reconnect_min_s, retry_max_s=settings.reconnect_max_s,
        )


class MqttSink:
    """Publishes batches on its own connection; `deliver` returns when every PUBACK is in."""

    pipeline = 2

    def __init__(self, settings: MqttSettings, hall_id: str) -> None:
        self._settings = settings
        self._hall = hall_id
        self._topics = Topics(settings.topic_base(hall_id))
        self.client_id = settings.forward_client_id_for(hall_id)
        self._client: MqttPublisher | None = None
        # One batch at a time puts its messages on the wire (a FIFO lock): the next batch's
        # publishes all come after this one's, so seq order holds on the wire.
        self._sending = asyncio.Lock()
        self._topic_cache: dict[str, tuple[str, bytes]] = {}

    async def open(self) -> None:
        s = self._settings
        try:
            # File reads (password file, certificates) off the event loop.
            password = await asyncio.to_thread(s.password)
            tls = await asyncio.to_thread(s.ssl_context)
        except (ValueError, OSError) as exc:
            raise SinkUnavailable(str(exc)) from exc
        try:
            self._client = await MqttPublisher.connect(
                s.host, s.port, client_id=self.client_id, username=s.username,
                password=password, keepalive=s.keepalive, window=s.max_inflight, tls=tls,
                connect_timeout_s=CONNECT_TIMEOUT_S,
            )
        except (OSError, TimeoutError) as exc:  # WireError is an OSError
            raise SinkUnavailable(f"{s.host}:{s.port}: {exc or type(exc).__name__}") from exc

    async def deliver(self, records: Sequence[Record]) -> None:
        if records:
            await self.deliver_envelopes(Envelopes.of(records, self._hall))

    async def deliver_envelopes(self, envelopes: Envelopes) -> None:
        """Publish in order; return when every PUBACK is in. The hot path: the forwarder
        hands envelopes SQLite made while it read them."""
        client = self._client
        if client is None:
            raise SinkUnavailable("not connected")
        batch = Batch(len(envelopes.bodies))
        publish, window = client.publish, client.window
        # Runs of one type are the rule (a backlog of ticket.issued): the topic is looked up
        # when the type changes, not per message (0.04 µs a message less, measured).
        last: str | None = None
        name, framed = "", b""
        try:
            async with self._sending:
                for type_, body in zip(envelopes.types, envelopes.bodies, strict=True):
                    if client.outstanding >= window:
                        await client.wait_for_room()
                    if type_ != last:
                        name, framed = self._topic(type_)
                        last = type_
                    publish(name, framed, body, batch)
                client.flush()
            # No timeout: a dead connection is noticed by the keepalive, which fails the wait.
            await batch.done
        except PublishRefused as exc:
            raise (SinkUnavailable if exc.transient else SinkRejected)(str(exc)) from exc
        except WireError as exc:
            raise SinkUnavailable(str(exc)) from exc

    def _topic(self, event_type: str) -> tuple[str, bytes]:
        topic = self._topic_cache.get(event_type)
        if topic is None:
            name = self._topics.event(event_type)
            topic = self._topic_cache[event_type] = (name, MqttPublisher.topic(name))
        return topic

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
