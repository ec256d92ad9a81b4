"""MQTT forwarding throughput against a local Mosquitto (started here).

Baselines, bare QoS 1 publish loops of the same envelopes, at most INFLIGHT (100)
unacknowledged, the next publish sent when a PUBACK frees room:
(a) paho alone, its network loop in its own thread, publishing from the PUBACK callback;
(a') hallctl's publish-only client (`hallctl/forward/mqtt_wire.py`) on the asyncio loop;
the strongest baseline is whichever of the two is faster in this run.
(b) the forwarder (generic SinkForwarder + MqttSink) draining N journal records (read,
    publish, PUBACK, save the cursor every 10 batches and at the end); floor ≥ 90 % of the
    strongest baseline; rounds of (a), (a') and (b) alternate, medians reported;
(c) a 100,000-record backlog journaled while the broker was down, drained by the forwarder
    after the broker returns; target: ≤ 30 s.
(d) the engine with its MQTT link and forwarder in one process (as in the daemon), 50
    clients: durable commands/s, against the engine alone, rounds alternated; floor 10,000/s.
(e) the journal's share of (b), CPU of this thread: reading the N envelopes in batches as the
    forwarder does, plain quotes (rows since the journal checks their fields) against
    json_quote (older rows), rounds alternated; a cursor save, and its cost a message at the
    forwarder's pace (every 10 batches) and at a save a batch.

The broker announces Receive Maximum = INFLIGHT (`max_inflight_messages`), so every client
may keep 100 in flight (mqtt_wire honours the broker's Receive Maximum; Mosquitto's default
is 20).

    .venv/bin/python bench/bench_forward.py [--events 20000] [--backlog 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from hallctl.broker import Mosquitto
from hallctl.forward.forwarder import SAVE_EVERY, SinkForwarder
from hallctl.forward.mqtt_sink import CURSOR, MqttSink
from hallctl.forward.sinks import mqtt_forwarder
from hallctl.journal import Journal, PendingEvent
from hallctl.mqtt.link import MqttLink
from hallctl.mqtt.settings import MqttSettings
from hallctl.mqtt.topics import Topics

BENCH_DIR = str(Path(__file__).resolve().parent)  # bench_engine: the hall and the mix
sys.path.insert(0, BENCH_DIR)
from bench_mqtt_clients import cpu_s, lean_loop, paho_thread  # noqa: E402

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

    def now(self) -> datetime:
        return datetime.now().astimezone()

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


def settings_for(broker: Mosquitto, **overrides: Any) -> MqttSettings:
    return MqttSettings(url=broker.url, forward_batch=BATCH, max_inflight=INFLIGHT,
                        **overrides)


def journal_envelopes(journal: Journal, settings: MqttSettings) -> tuple[str, list[bytes]]:
    """The topic and the envelopes the forwarder sends, made once, for the bare loops to send
    from memory: the same bytes to the same topic, so only the journal's work differs."""
    records = list(journal.replay())
    assert {r.type for r in records} == {"ticket.issued"}
    topic = Topics(settings.topic_base("bench")).event("ticket.issued")
    return topic, [r.envelope_json("bench") for r in records]


def bare_paho_rate(broker: Mosquitto, topic: str, payloads: list[bytes]) -> float:
    """paho alone, its network loop in its own thread (bench_mqtt_clients.paho_thread)."""
    return paho_thread(broker, len(payloads), topic=topic, payloads=payloads)


async def bare_wire_rate(broker: Mosquitto, topic: str, payloads: list[bytes]) -> float:
    """hallctl's publish-only client alone: the same loop without journal or forwarder
    (bench_mqtt_clients.lean_loop)."""
    return await lean_loop(broker, len(payloads), topic=topic, payloads=payloads)


async def _until_cursor(forwarder: SinkForwarder, count: int) -> None:
    while forwarder.health.cursor < count:  # noqa: ASYNC110 - a bench may poll
        await asyncio.sleep(0.002)


async def forwarder_rate(broker: Mosquitto, journal: Journal, count: int) -> float:
    engine = BenchEngine(journal)
    forwarder = mqtt_forwarder(engine, settings_for(broker))
    sink = forwarder._sink
    assert isinstance(sink, MqttSink)
    await sink.open()  # connected beforehand, as the baselines are
    opened = sink.open

    async def already_open() -> None:
        sink.open = opened  # type: ignore[method-assign]

    sink.open = already_open  # type: ignore[method-assign]
    started = time.perf_counter()
    task = asyncio.create_task(forwarder.run())
    await _until_cursor(forwarder, count)
    elapsed = time.perf_counter() - started
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return count / elapsed


async def backlog_drain_seconds(broker: Mosquitto, journal: Journal, count: int) -> float:
    engine = BenchEngine(journal)
    settings = settings_for(broker, reconnect_min_s=0.05, reconnect_max_s=0.2)
    forwarder = mqtt_forwarder(engine, settings)
    await broker.astop()
    task = asyncio.create_task(forwarder.run())  # retrying while the broker is away
    await asyncio.to_thread(fill, journal, count)
    await asyncio.sleep(0.3)
    assert forwarder.health.cursor == 0 and forwarder.health.state == "retrying"
    await broker.astart()
    started = time.perf_counter()
    await _until_cursor(forwarder, count)
    elapsed = time.perf_counter() - started
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert journal.cursor(CURSOR) == count
    return elapsed


async def engine_rate(broker: Mosquitto | None, seconds: float, clients: int) -> float:
    """Commands/s of the real engine, with the MQTT link (retained state, request receiver)
    and the MQTT sink's forwarder on the same loop when ``broker`` is given, as `hallctl run`
    has them."""
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
            forwarder = None
            if broker is not None:
                settings = settings_for(broker)
                link = await stack.enter_async_context(MqttLink(engine, settings))
                forwarder = mqtt_forwarder(engine, settings)
                forwarding = asyncio.create_task(forwarder.run())
                stack.callback(forwarding.cancel)
                while not link.online or forwarder.health.cursor < engine.last_seq():  # noqa: ASYNC110
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
            if forwarder is not None:
                lag = engine.last_seq() - forwarder.health.cursor
                events = engine.last_seq() / max(done, 1)
                print(f"    (forwarder {lag:,} events behind the journal at the end; "
                      f"{events:.2f} events per command)")
        writer.cancel()
        return rate


def journal_cost(journal: Journal, count: int, rounds: int) -> str:
    """(e): CPU of this thread a record, the envelopes read as the forwarder reads them, both
    ways; and a cursor save. `_plain_from` is the journal's own switch between the two."""
    plain_from = journal._plain_from
    per_record: dict[str, list[float]] = {"plain quotes": [], "json_quote": []}
    try:
        for _ in range(rounds):
            for name, switch in (("plain quotes", plain_from), ("json_quote", 2**63)):
                journal._plain_from = switch
                after, started = 0, time.thread_time()
                while (batch := journal.read_envelopes_after(after, BATCH, "bench")) is not None:
                    after = batch.last_seq
                per_record[name].append((time.thread_time() - started) / count * 1e6)
    finally:
        journal._plain_from = plain_from
    saves = 200
    started = time.thread_time()
    for n in range(saves):
        journal.set_cursor("bench-e", n)
    save_us = (time.thread_time() - started) / saves * 1e6
    plain, quoted = (statistics.median(v) for v in per_record.values())
    return (f"(e)  journal's share, CPU of this thread: envelopes {plain:.2f} µs a record "
          f"(json_quote: {quoted:.2f} µs, rounds {_rounds_f(per_record['json_quote'])} / "
          f"{_rounds_f(per_record['plain quotes'])}); a cursor save {save_us:.0f} µs back to "
          f"back = {save_us / (BATCH * SAVE_EVERY):.3f} µs a message every {SAVE_EVERY} "
          f"batches ({save_us / BATCH:.3f} at one a batch; spaced out, a save costs more)")


def _rounds_f(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _rounds(rates: list[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in rates)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="per engine round")
    parser.add_argument("--skip", default="", help="parts to leave out, e.g. cd")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    broker_config = f"max_inflight_messages {INFLIGHT}"
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(extra_config=broker_config) as broker:
        with Journal(Path(tmp) / "a.db") as journal:
            await asyncio.to_thread(fill, journal, args.events)
            topic, payloads = journal_envelopes(journal, settings_for(broker))
            paho_rates, wire_rates, fwd_rates = [], [], []
            wire_cpu, fwd_cpu = [], []
            for _ in range(args.rounds):  # alternated, because the machine is shared and noisy
                paho_rates.append(await asyncio.to_thread(
                    bare_paho_rate, broker, topic, payloads))
                before = cpu_s()
                wire_rates.append(await bare_wire_rate(broker, topic, payloads))
                wire_cpu.append((cpu_s() - before) / args.events * 1e6)
                journal.set_cursor(CURSOR, 0)  # each round forwards the whole journal again
                before = cpu_s()
                fwd_rates.append(await forwarder_rate(broker, journal, args.events))
                fwd_cpu.append((cpu_s() - before) / args.events * 1e6)
            cost = None if "e" in args.skip else journal_cost(journal, args.events, args.rounds)
        drain = None
        if "c" not in args.skip:
            with Journal(Path(tmp) / "b.db") as journal:
                drain = await backlog_drain_seconds(broker, journal, args.backlog)
        alone, linked = [], []
        if "d" not in args.skip:
            for _ in range(args.rounds):
                alone.append(await engine_rate(None, args.seconds, 50))
                linked.append(await engine_rate(broker, args.seconds, 50))

    bare_paho = statistics.median(paho_rates)
    bare_wire = statistics.median(wire_rates)
    forwarded = statistics.median(fwd_rates)
    strongest, name = max((bare_paho, "bare paho"), (bare_wire, "bare mqtt_wire"))
    ratio = forwarded / strongest
    strongest_rounds = paho_rates if name == "bare paho" else wire_rates
    paired = statistics.median(b / a for a, b in zip(strongest_rounds, fwd_rates, strict=True))
    sizes = sorted(len(p) for p in payloads)
    print(f"{args.events:,} journal envelopes of {sizes[0]}-{sizes[-1]} bytes to {topic}, "
          f"batch {BATCH}, 2 batches overlap, max in flight {INFLIGHT}; medians of "
          f"{args.rounds} alternated rounds; the bare loops send the same envelopes from memory")
    print(f"(a)  bare paho QoS 1, own thread        {bare_paho:10,.0f} msg/s   "
          f"(rounds: {_rounds(paho_rates)})")
    print(f"(a') bare mqtt_wire QoS 1, asyncio      {bare_wire:10,.0f} msg/s   "
          f"(rounds: {_rounds(wire_rates)})")
    print(f"(b)  forwarder from journal             {forwarded:10,.0f} msg/s   "
          f"= {ratio:.0%} of {name}, the strongest (floor ≥ 90%) "
          f"{'OK' if ratio >= 0.9 else 'MISSED'}  (rounds: {_rounds(fwd_rates)}); "
          f"{forwarded / bare_paho:.0%} of bare paho")
    print(f"     round by round, (b) / {name}: median {paired:.0%}; CPU of this process per "
          f"message: (a') {statistics.median(wire_cpu):.1f} µs, (b) "
          f"{statistics.median(fwd_cpu):.1f} µs (all threads)")
    if cost is not None:
        print(cost)
    if drain is not None:
        print(f"(c)  {args.backlog:,} backlog drained  {drain:10.1f} s       "
              f"({args.backlog / drain:,.0f} msg/s, target ≤ 30 s) "
              f"{'OK' if drain <= 30 else 'MISSED'}")
    if alone:
        both, solo = statistics.median(linked), statistics.median(alone)
        print(f"(d)  engine + MQTT link + forwarder, 50 clients: {both:,.0f} durable "
              f"commands/s (floor 10,000) {'OK' if both >= 10_000 else 'MISSED'} = "
              f"{both / solo:.0%} of the engine alone ({solo:,.0f}/s)  (rounds: "
              f"{_rounds(linked)} / {_rounds(alone)})")


if __name__ == "__main__":
    asyncio.run(main())
