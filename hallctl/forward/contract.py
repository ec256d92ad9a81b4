"""The sink contract: what a back end implements to get the hall's journal records.

A sink does one thing: deliver a batch of records, in order, and return only when the back end
has durably accepted all of them. Everything else (the journal cursor, batching, filters,
retries with backoff, parking, health) is the generic forwarder's (forward/forwarder.py), so
every back end gets the same guarantee: nothing is skipped, an outage of any length loses
nothing, and a re-sent batch is harmless because every record carries its event `id`, which
the back end uses to de-duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from hallctl.journal import Envelopes, Record


class SinkUnavailable(Exception):
    """The back end cannot take the batch now (down, timeout, 5xx): retried with backoff."""


class SinkRejected(Exception):
    """The back end refuses the batch (4xx, bad mapping): the sink parks and raises an alarm.

    Retrying at once would only fail again, and skipping would lose events, so the forwarder
    stops at this batch until an operator fixes the cause; it tries again now and then.
    """


class Sink(Protocol):
    """One back end. `deliver` is called with batches in journal order.

    A sink may set `pipeline = N` (default 1): then up to N deliveries overlap, started in
    order, for a wire that keeps them in order (one MQTT or NATS connection); the cursor still
    moves batch by batch, only past batches whose delivery returned.
    """

    async def open(self) -> None:
        """Connect (and create or migrate what the back end needs). May raise either error."""

    async def deliver(self, records: Sequence[Record]) -> None:
        """Return only when every record is durably accepted; raise SinkUnavailable or
        SinkRejected otherwise (then the whole batch is sent again later)."""

    async def close(self) -> None:
        """Release the connection; called after a failure too, so it must not raise."""


@runtime_checkable
class EnvelopeSink(Protocol):
    """A sink that can also take ready-made envelopes (`Envelopes.bodies[i]` is a record's
    `envelope_json`). When a sink takes every record unchanged (no filter), the forwarder reads
    envelopes straight from the journal for it, a whole batch in one SQLite row: no `Record`
    per row, nothing joined on the event loop (the MQTT sink's hot path,
    docs/performance.md). Same guarantee as `deliver`."""

    async def deliver_envelopes(self, envelopes: Envelopes) -> None: ...
