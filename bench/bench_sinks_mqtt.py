"""Would the MQTT forwarder keep its throughput on the generic sink contract? Measured here.

(a) the MQTT forwarder as it is (`hallctl/forward/mqtt.py`: two batches in flight);
(b) the generic `SinkForwarder` with an MQTT sink (this file's adapter: `deliver` publishes a
    batch and returns when every PUBACK is in), one batch at a time;
(c) the same with `pipeline = 2` (two batches in flight, as the MQTT forwarder).
Same broker, same journal, same batch size and in-flight window. Printed: (b) / (a).

    .venv/bin/python bench/bench_sinks_mqtt.py [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import aiomqtt
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_forward import BATCH, INFLIGHT, BenchEngine, fill, forwarder_rate

from hallctl.broker import Mosquitto
from hallctl.forward.config import WebhookSink
from hallctl.forward.forwarder import SinkForwarder
from hallctl.journal import Journal, Record


class Engine(BenchEngine):
    def now(self) -> datetime:
        return datetime.now().astimezone()


class MqttSink:
    """The MQTT forwarder's publishing as a `Sink` (bench only)."""

    def __init__(self, client: aiomqtt.Client, pipeline: int) -> None:
        self._client = client
        self.pipeline = pipeline

    async def open(self) -> None:
        pass

    async def deliver(self, records: Sequence[Record]) -> None:
        async with asyncio.TaskGroup() as tg:
            for r in records:
                tg.create_task(self._client.publish(
                    f"bench/events/{r.type}", r.envelope_json("bench"), qos=1, timeout=math.inf
                ))

    async def close(self) -> None:
        pass


async def generic_rate(broker: Mosquitto, journal: Journal, count: int, pipeline: int) -> float:
    # the common settings of a sink; the webhook fields are not used by this sink
    config = WebhookSink(type="webhook", name="mqtt-generic", url="http://unused/",
                         secret_env="UNUSED", batch=BATCH, start="beginning")
    async with aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5,
                              max_inflight_messages=INFLIGHT) as client:
        client.pending_calls_threshold = BATCH * 2
        forwarder = SinkForwarder(Engine(journal), config, MqttSink(client, pipeline), "mqtt")
        started = time.perf_counter()
        task = asyncio.create_task(forwarder.run())
        while forwarder.health.cursor < count:  # noqa: ASYNC110 - a bench may poll
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - started
        task.cancel()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp, Mosquitto() as broker:
        rates: dict[str, list[float]] = {"mqtt": [], "one": [], "two": []}
        for run in range(4):
            with Journal(Path(tmp) / f"{run}.db") as journal:
                await asyncio.to_thread(fill, journal, args.events)
                if run % 2:  # which goes first matters on this machine: alternate
                    rates["mqtt"].append(await forwarder_rate(broker, journal, args.events))
                rates["one"].append(await generic_rate(broker, journal, args.events, 1))
                journal.set_cursor("sink:mqtt-generic", 0)
                rates["two"].append(await generic_rate(broker, journal, args.events, 2))
                if not run % 2:
                    rates["mqtt"].append(await forwarder_rate(broker, journal, args.events))
    mqtt, one, two = (max(rates[k]) for k in ("mqtt", "one", "two"))
    print(f"{args.events:,} events, batch {BATCH}, max in flight {INFLIGHT}; best of 4")
    print(f"(a) MQTT forwarder (2 batches in flight)        {mqtt:8,.0f} msg/s")
    print(f"(b) SinkForwarder + MQTT sink, pipeline 1       {one:8,.0f} msg/s   "
          f"ratio {one / mqtt:.0%}")
    print(f"(c) SinkForwarder + MQTT sink, pipeline 2       {two:8,.0f} msg/s   "
          f"ratio {two / mqtt:.0%}")


if __name__ == "__main__":
    asyncio.run(main())
