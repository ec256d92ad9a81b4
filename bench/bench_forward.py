"""MQTT forwarding throughput against a local Mosquitto (started here).

(a) bare paho: QoS 1 publishes from paho's own network thread, at most max_inflight (100)
    unacknowledged, the next publish sent from the PUBACK callback: the strongest baseline
    (faster than (a') here, so the floor is measured against it);
(a') bare aiomqtt: QoS 1 publishes, batches pipelined like the forwarder used to;
(b) the forwarder draining N journal records (read, publish, PUBACK, save cursor);
    target: ≥ 90 % of (a); rounds of (a), (a') and (b) alternate, medians reported;
(c) a 100,000-record backlog journaled while the broker was down, drained by the full link
    after the broker returns; target: ≤ 30 s.

(d) the engine with its MQTT link and forwarder in one process (as in the daemon), 50
    clients: durable commands/s, against the engine alone in the same run; floor 10,000/s.

    .venv/bin/python bench/bench_forward.py [--events 20000] [--backlog 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt
import structlog
from hallctl.forward.mqtt import BATCHES_IN_FLIGHT, SINK, MqttForwarder

from hallctl.broker import Mosquitto
from hallctl.journal import Journal, PendingEvent
from hallctl.mqtt.link import MqttLink
from hallctl.mqtt.settings import MqttSettings
from hallctl.mqtt.topics import Topics

BENCH_DIR = str(Path(__file__).resolve().parent)  # bench_engine: the hall and the mix
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


def bare_paho_rate(broker: Mosquitto, payload: bytes, count: int) -> float:
    """The strongest baseline: paho alone, its network loop in its own thread, QoS 1, at most
    INFLIGHT unacknowledged (the next publish goes out from the PUBACK callback)."""
    import threading

    import paho.mqtt.client as paho

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(INFLIGHT)
    lock = threading.Lock()
    sent = acked = 0
    finished = threading.Event()

    def publish_more() -> None:
        nonlocal sent
        while sent < count and sent - acked < INFLIGHT:
            sent += 1
            client.publish("bench/events/ticket.issued", payload, qos=1)

    def on_publish(*_: object) -> None:
        nonlocal acked
        with lock:
            acked += 1
            if acked == count:
                finished.set()
            publish_more()

    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.on_publish = on_publish
    client.connect(broker.host, broker.port)
    client.loop_start()
    connected.wait(10)
    started = time.perf_counter()
    with lock:
        publish_more()
    finished.wait(120)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return count / elapsed


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


async def engine_rate(broker: Mosquitto | None, seconds: float, clients: int) -> float:
    """Commands/s of the real engine, with the MQTT link (forwarder, retained state, request
    receiver) on the same loop when ``broker`` is given, as `hallctl run` has it."""
    sys.path.insert(0, BENCH_DIR)
    from bench_engine import HALL, mix

    from hallctl.config import parse_config
    from hallctl.engine import HallEngine

    with tempfile.TemporaryDirectory() as d, Journal(Path(d) / "j.db") as journal:
        engine = HallEngine(parse_config(HALL), journal, secret=b"x" * 32)
        engine.recover()
        writer = asyncio.create_task(engine.run())
        for n in range(1, 101):
            await engine.execute({"action": "open_window", "window": n})
        async with contextlib.AsyncExitStack() as stack:
            link = None
            if broker is not None:
                settings = MqttSettings(url=broker.url, forward_batch=BATCH, max_inflight=INFLIGHT)
                link = await stack.enter_async_context(MqttLink(engine, settings))
                while not link.online:  # noqa: ASYNC110 - a bench may poll
                    await asyncio.sleep(0.01)
            done = 0
            stop_at = time.perf_counter() + seconds

            async def client(seed: int) -> None:
                nonlocal done
                rng = random.Random(seed)
                while time.perf_counter() < stop_at:
                    await engine.execute(mix(rng))
                    done += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(clients)))
            rate = done / (time.perf_counter() - t0)
            if link is not None:
                lag = engine.last_seq() - link.forwarder.stats.cursor
                print(f"    (forwarder {lag:,} events behind the journal at the end)")
        writer.cancel()
        return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="per engine round")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    with tempfile.TemporaryDirectory() as tmp, Mosquitto() as broker:
        with Journal(Path(tmp) / "a.db") as journal:
            await asyncio.to_thread(fill, journal, args.events)
            payload = journal.read_after(0, 1)[0].envelope_json("bench")
            paho_rates, bare_rates, fwd_rates = [], [], []
            for _ in range(args.rounds):  # alternated, because the machine is shared and noisy
                paho_rates.append(await asyncio.to_thread(
                    bare_paho_rate, broker, payload, args.events))
                bare_rates.append(await bare_publish_rate(broker, payload, args.events))
                journal.set_cursor(SINK, 0)  # each round forwards the whole journal again
                fwd_rates.append(await forwarder_rate(broker, journal, args.events))
            bare_paho = statistics.median(paho_rates)
            bare = statistics.median(bare_rates)
            forwarded = statistics.median(fwd_rates)
        with Journal(Path(tmp) / "b.db") as journal:
            drain = await backlog_drain_seconds(broker, journal, args.backlog)
        alone, linked = [], []
        for _ in range(args.rounds):
            alone.append(await engine_rate(None, args.seconds, 50))
            linked.append(await engine_rate(broker, args.seconds, 50))

    ratio = forwarded / bare_paho
    print(f"envelope {len(payload)} bytes, batch {BATCH}, {BATCHES_IN_FLIGHT} batches overlap, "
          f"max in flight {INFLIGHT}; medians of {args.rounds} alternated rounds")
    print(f"(a) bare paho QoS 1, own thread  {bare_paho:10,.0f} msg/s   (rounds: "
          f"{', '.join(f'{r:,.0f}' for r in paho_rates)})")
    print(f"(a') bare aiomqtt QoS 1          {bare:10,.0f} msg/s   (rounds: "
          f"{', '.join(f'{r:,.0f}' for r in bare_rates)})")
    print(f"(b) forwarder from journal {forwarded:10,.0f} msg/s   "
          f"= {ratio:.0%} of bare paho (floor ≥ 90%)  (rounds: "
          f"{', '.join(f'{r:,.0f}' for r in fwd_rates)})")
    print(f"(c) {args.backlog:,} backlog drained  {drain:10.1f} s       "
          f"({args.backlog / drain:,.0f} msg/s, target ≤ 30 s) {'OK' if drain <= 30 else 'MISSED'}")
    both, solo = statistics.median(linked), statistics.median(alone)
    print(f"(d) engine + MQTT link + forwarder, 50 clients: {both:,.0f} durable commands/s "
          f"(floor 10,000) = {both / solo:.0%} of the engine alone ({solo:,.0f}/s)  (rounds: "
          f"{', '.join(f'{r:,.0f}' for r in linked)} / {', '.join(f'{r:,.0f}' for r in alone)})")


if __name__ == "__main__":
    asyncio.run(main())
