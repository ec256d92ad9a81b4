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
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import aiomqtt
import structlog

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

    def __init__(self, engine: ForwardEngine, topics: Topics, *, batch: int = 500) -> None:
        self._engine = engine
        self._topics = topics
        self._batch = batch
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
        # paho sends in publish() call order and queues what exceeds max_inflight in that
        # same order, so starting the publishes in seq order keeps them in order on the wire.
        # A TaskGroup (not gather): if one publish fails, the others are cancelled at once
        # instead of waiting for PUBACKs that will never come.
        async with asyncio.TaskGroup() as tg:
            for record in records:
                tg.create_task(
                    client.publish(
                        self._topics.event(record.type),
                        record.envelope_json(hall),
                        qos=1,
                        retain=False,
                        # No per-message timeout: a dead connection is detected by keepalive
                        # and ends the whole connection, which cancels this batch.
                        timeout=math.inf,
                    )
                )
