"""MQTT forwarding throughput against a local Mosquitto (started here).

(a) bare aiomqtt: QoS 1 publishes, batches pipelined exactly like the forwarder
    (max_inflight in flight, await every PUBACK of the batch) — the ceiling;
(b) the forwarder draining N journal records (read, publish, PUBACK, save cursor);
    target: ≥ 70 % of (a);
(c) a 100,000-record backlog journaled while the broker was down, drained by the full link
    after the broker returns; target: ≤ 30 s.

    .venv/bin/python bench/bench_forward.py [--events 20000] [--backlog 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import tempfile
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt
import structlog

from hallctl.broker import Mosquitto
from hallctl.forward.mqtt import BATCHES_IN_FLIGHT, SINK, MqttForwarder
from hallctl.journal import Journal, PendingEvent
from hallctl.mqtt.link import MqttLink
from hallctl.mqtt.settings import MqttSettings
from hallctl.mqtt.topics import Topics

BATCH = 500
INFLIGHT = 100


class BenchEngine:
    """Just enough of the HallEngine façade: a journal and a wake-up for new records."""

    def __init__(self, journal: Journal) -> None:
        self.hall_id = "bench"
        self.journal = journal
        self._last = journal.last_seq()
        self._changed = asyncio.Condition()

    def last_seq(self) -> int:
        return self._last

    async def wait_beyond(self, seq: int) -> int:
        async with self._changed:
            await self._changed.wait_for(lambda: self._last > seq)
            return self._last

    def retained_state(self) -> dict[str, dict[str, Any]]:
        return {"state/windows/1": {"window": 1, "status": "open"}}

    async def execute(self, request: Any) -> dict[str, Any]:
        return {"ok": True, "result": {}}


def fill(journal: Journal, count: int) -> None:
    now = datetime.now().astimezone()
    base = time.time_ns()
    for start in range(0, count, 5000):
        journal.append([
            PendingEvent(
                id=f"{base:020d}-{i:08d}", type="ticket.issued", ts=now.isoformat(),
                day=now.date().isoformat(), request_id=None, v=1,
                data=json.dumps({"ticket": f"A{i % 1000:03d}", "service": "BDC",
                                 "channel": "normal", "window": None}),
            )
            for i in range(start, min(start + 5000, count))
        ])


async def bare_publish_rate(broker: Mosquitto, payload: bytes, count: int) -> float:
    async with aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5,
                              max_inflight_messages=INFLIGHT) as client:
        client.pending_calls_threshold = BATCH * 2
        async def batch(size: int) -> None:
            async with asyncio.TaskGroup() as tg:
                for _ in range(size):
                    tg.create_task(client.publish("bench/events/ticket.issued", payload,
                                                  qos=1, timeout=math.inf))

        started = time.perf_counter()
        window: deque[asyncio.Task[None]] = deque()  # two batches overlap, as in the forwarder
        for first in range(0, count, BATCH):
            window.append(asyncio.create_task(batch(min(BATCH, count - first))))
            if len(window) >= BATCHES_IN_FLIGHT:
                await window.popleft()
        for task in window:
            await task
        return count / (time.perf_counter() - started)


async def forwarder_rate(broker: Mosquitto, journal: Journal, count: int) -> float:
    engine = BenchEngine(journal)
    forwarder = MqttForwarder(engine, Topics("bench"), batch=BATCH)
    async with aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5,
                              max_inflight_messages=INFLIGHT) as client:
        client.pending_calls_threshold = BATCH * 2
        started = time.perf_counter()
        task = asyncio.create_task(forwarder.run(client))
        while forwarder.stats.cursor < count:  # noqa: ASYNC110 - a bench may poll
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - started
        task.cancel()
    return count / elapsed


async def backlog_drain_seconds(broker: Mosquitto, journal: Journal, count: int) -> float:
    engine = BenchEngine(journal)
    settings = MqttSettings(url=broker.url, reconnect_min_s=0.05, reconnect_max_s=0.2,
                            forward_batch=BATCH, max_inflight=INFLIGHT)
    await broker.astop()
    async with MqttLink(engine, settings) as link:  # retrying while the broker is away
        await asyncio.to_thread(fill, journal, count)
        await asyncio.sleep(0.3)
        assert link.forwarder.stats.cursor == 0 and not link.online
        await broker.astart()
        started = time.perf_counter()
        while link.forwarder.stats.cursor < count:  # noqa: ASYNC110 - a bench may poll
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
    assert journal.cursor(SINK) == count
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    with tempfile.TemporaryDirectory() as tmp, Mosquitto() as broker:
        with Journal(Path(tmp) / "a.db") as journal:
            await asyncio.to_thread(fill, journal, args.events)
            payload = journal.read_after(0, 1)[0].envelope_json("bench")
            bare = await bare_publish_rate(broker, payload, args.events)
            forwarded = await forwarder_rate(broker, journal, args.events)
        with Journal(Path(tmp) / "b.db") as journal:
            drain = await backlog_drain_seconds(broker, journal, args.backlog)

    ratio = forwarded / bare
    print(f"envelope {len(payload)} bytes, batch {BATCH}, {BATCHES_IN_FLIGHT} batches overlap, "
          f"max in flight {INFLIGHT}")
    print(f"(a) bare aiomqtt QoS 1     {bare:10,.0f} msg/s")
    print(f"(b) forwarder from journal {forwarded:10,.0f} msg/s   "
          f"ratio {ratio:.0%} (target ≥ 70%) {'OK' if ratio >= 0.7 else 'MISSED'}")
    print(f"(c) {args.backlog:,} backlog drained  {drain:10.1f} s       "
          f"({args.backlog / drain:,.0f} msg/s, target ≤ 30 s) {'OK' if drain <= 30 else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())
