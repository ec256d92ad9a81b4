"""Forward every journal record to `<base>/events/<type>`: QoS 1, in order, at least once.

The forwarder owns the journal cursor `mqtt`. A batch of records is published with many
messages in flight at once (pipelining), and only when every PUBACK of the batch is in does
the cursor move to the batch's last seq. If the connection drops mid-batch, `run` ends with
the error and the link calls it again on the next connection, which starts again from the
durable cursor: the unacknowledged tail is sent again (a subscriber may see a record twice,
never out of order after removing repeats by `id`, never missing). A broker outage of any
length therefore loses nothing; the backlog simply waits in the journal.

Why resend from the cursor instead of relying on paho's own retransmission: paho only
retransmits unacknowledged QoS 1 messages within a persistent session on the same client
object, which would tie correctness to broker session state; the journal is already the
durable queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt
import structlog
from paho.mqtt.client import MQTT_ERR_SUCCESS

from hallctl.disk_full import is_disk_full
from hallctl.journal import Journal, Record
from hallctl.mqtt.topics import Topics

log = structlog.get_logger(__name__)

SINK = "mqtt"
BATCHES_IN_FLIGHT = 2


class ForwardEngine(Protocol):
    """The part of `HallEngine` the forwarder uses."""

    @property
    def hall_id(self) -> str: ...
    @property
    def journal(self) -> Journal: ...
    async def wait_beyond(self, seq: int) -> int: ...


@dataclass(slots=True)
class ForwardStats:
    forwarded: int = 0  # records acknowledged by the broker (repeats after a reconnect count)
    batches: int = 0
    cursor: int = 0  # last durable cursor value


class MqttForwarder:
    """Publishes journal records past the `mqtt` cursor; one `run` per broker connection."""

    def __init__(
        self, engine: ForwardEngine, topics: Topics, *, batch: int = 500, inflight: int = 100
    ) -> None:
        self._engine = engine
        self._topics = topics
        self._batch = batch
        self._inflight = inflight
        self.stats = ForwardStats()

    async def run(self, client: aiomqtt.Client) -> None:
        """Forward until cancelled or the connection fails (the error propagates).

        Two batches overlap: the next batch is read and on the wire while the previous one
        waits for its PUBACKs, so the link never idles for a round trip between batches.
        The cursor still advances batch by batch, in order, each only after all its PUBACKs.
        """
        journal = self._engine.journal
        hall = self._engine.hall_id
        read = await asyncio.to_thread(journal.cursor, SINK)
        self.stats.cursor = read
        log.info("mqtt.forward_resume", cursor=read)
        window: deque[tuple[int, int, asyncio.Task[None]]] = deque()  # (last seq, size, acks)
        async with asyncio.TaskGroup() as tg:
            while True:
                if len(window) < BATCHES_IN_FLIGHT:
                    records = await asyncio.to_thread(journal.read_after, read, self._batch)
                    if records:
                        acks = tg.create_task(self._publish_batch(client, records, hall))
                        window.append((records[-1].seq, len(records), acks))
                        read = records[-1].seq
                        continue
                if not window:
                    await self._engine.wait_beyond(read)
                    continue
                last, size, acks = window.popleft()
                await acks
                # Only now: every record up to `last` has a PUBACK from the broker.
                try:
                    await asyncio.to_thread(journal.set_cursor, SINK, last)
                except Exception as exc:
                    if not is_disk_full(exc, journal.path.parent):
                        raise
                    # Keep forwarding: the cursor is saved with a later batch once space is
                    # back (at worst these are sent again after a restart: at least once).
                    log.warning("mqtt.cursor_not_saved", seq=last, reason="disk full")
                self.stats.cursor = last
                self.stats.forwarded += size
                self.stats.batches += 1

    async def _publish_batch(
        self, client: aiomqtt.Client, records: Sequence[Record], hall: str
    ) -> None:
        acks = _PubackTracker.on(client, self._inflight)
        pending = _Pending(len(records))
        # One batch puts its messages on the wire at a time (a FIFO lock): the next batch's
        # publishes all come after this one's, so seq order holds on the wire.
        async with acks.sending:
            for record in records:
                if acks.outstanding >= acks.window:
                    await acks.wait_for_room()
                acks.publish(self._topics.event(record.type), record.envelope_json(hall), pending)
        # No timeout: a dead connection is detected by keepalive and ends the link's receive
        # loop, whose TaskGroup cancels this wait.
        await pending.done


class _Pending:
    __slots__ = ("done", "left")

    def __init__(self, count: int) -> None:
        self.left = count
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if count == 0:
            self.done.set_result(None)


class _PubackTracker:
    """Publishes straight through aiomqtt's paho client and counts PUBACKs per batch.

    aiomqtt's `publish` costs a task, a future, a `wait_for` and a scan of every pending call
    per message; here a publish is one paho call and a PUBACK one dict pop. The window (at most
    `window` unacknowledged, the broker's in-flight setting) is kept here, so paho never queues
    messages itself (it scans that queue on every PUBACK). PUBACKs of other publishes (answers,
    retained state) go on to aiomqtt's own handler, so they work as before.
    """

    def __init__(self, client: aiomqtt.Client, window: int) -> None:
        self._paho = client._client  # private: see above, the measured per-message cost
        self._chained = self._paho.on_publish
        self._mine: dict[int, _Pending] = {}
        self.window = window
        self.outstanding = 0
        self.sending = asyncio.Lock()
        self._room = asyncio.Event()
        self._paho.on_publish = self._on_publish

    @classmethod
    def on(cls, client: aiomqtt.Client, window: int) -> _PubackTracker:
        tracker: _PubackTracker | None = getattr(client, "_hallctl_acks", None)
        if tracker is None:
            tracker = cls(client, window)
            client._hallctl_acks = tracker  # type: ignore[attr-defined]  # one per connection
        return tracker

    def publish(self, topic: str, payload: bytes, pending: _Pending) -> None:
        info = self._paho.publish(topic, payload, qos=1)
        if info.rc != MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
        self._mine[info.mid] = pending
        self.outstanding += 1

    async def wait_for_room(self) -> None:
        while self.outstanding >= self.window:
            self._room.clear()
            await self._room.wait()

    def _on_publish(self, client: Any, userdata: Any, mid: int, *rest: Any) -> None:
        pending = self._mine.pop(mid, None)
        if pending is None:
            if self._chained is not None:
                self._chained(client, userdata, mid, *rest)
            return
        self.outstanding -= 1
        self._room.set()
        pending.left -= 1
        if pending.left == 0 and not pending.done.done():
            pending.done.set_result(None)
