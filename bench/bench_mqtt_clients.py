"""Which MQTT client layer forwards fastest here? Bare QoS 1 publish loops, same everything.

Every loop publishes the same N journal envelopes (211 bytes) to one topic of a local Mosquitto
(started here), QoS 1, at most 100 unacknowledged (the next publish goes out when a PUBACK
frees room), and ends at the last PUBACK. Rounds alternate; medians and ratios to the fastest.

(1) paho, its own network thread (`loop_start`), publishing from `on_publish`;
(2) paho driven from the asyncio loop (add_reader/add_writer on its socket, paho's own
    asyncio example), publishing from `on_publish`;
(3) aiomqtt: `await client.publish()` in tasks, window by a semaphore;
(4) gmqtt, if installed (`pip install gmqtt`; not a dependency): no PUBACK callback and no
    PUBACK reason codes (its handler's "TODO"), so PUBACKs are counted by wrapping its handler;
(5) hallctl's publish-only client (`hallctl/forward/mqtt_wire.py`).

    .venv/bin/python bench/bench_mqtt_clients.py [--events 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import resource
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
import structlog

from hallctl.broker import Mosquitto
from hallctl.forward.mqtt_wire import Batch, MqttPublisher

TOPIC = "bench/events/ticket.issued"
WINDOW = INFLIGHT = 100
PAYLOAD = (b'{"id":"0000001764537600000000000-00000001","seq":1,"hall":"bench","type":'
           b'"ticket.issued","ts":"2026-11-30T21:00:00.000000+08:00","v":1,"data":{"ticket":'
           b'"A001","service":"BDC","channel":"normal","window":null}}')


def paho_thread(
    broker: Mosquitto, count: int, payload: bytes = PAYLOAD, *, topic: str = TOPIC,
    payloads: Sequence[bytes] | None = None,
) -> float:
    """paho alone, its network loop in its own thread, QoS 1, at most INFLIGHT unacknowledged;
    publishes ``payloads`` in turn when given (else ``payload`` ``count`` times) to ``topic``.

    Every publish is made on paho's network thread (the first window from `on_connect`, the
    rest from `on_publish`): publishing from another thread while holding a lock that the
    callback also takes can deadlock against paho's own callback mutex (seen here)."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(INFLIGHT)
    sent = acked = 0
    started = 0.0
    finished = threading.Event()

    each = payloads if payloads is not None else [payload] * count

    def publish_more() -> None:
        nonlocal sent
        while sent < count and sent - acked < INFLIGHT:
            client.publish(topic, each[sent], qos=1)
            sent += 1

    def on_connect(*_: object) -> None:
        nonlocal started
        started = time.perf_counter()
        publish_more()

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        if acked == count:
            finished.set()
        publish_more()

    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect(broker.host, broker.port)
    client.loop_start()
    if not finished.wait(60):
        print(f"    (bare paho: {acked:,} of {count:,} PUBACKs in 60 s)")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return acked / elapsed


async def paho_asyncio(broker: Mosquitto, count: int) -> float:
    loop = asyncio.get_running_loop()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(WINDOW)
    sent = acked = 0
    finished = loop.create_future()
    connected = loop.create_future()

    def publish_more() -> None:
        nonlocal sent
        while sent < count and sent - acked < WINDOW:
            sent += 1
            client.publish(TOPIC, PAYLOAD, qos=1)

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        if acked == count:
            finished.set_result(None)
        publish_more()

    client.on_connect = lambda *_: connected.set_result(None)
    client.on_publish = on_publish
    client.on_socket_open = lambda c, u, sock: loop.add_reader(sock, c.loop_read)
    client.on_socket_close = lambda c, u, sock: loop.remove_reader(sock)
    client.on_socket_register_write = lambda c, u, sock: loop.add_writer(sock, c.loop_write)
    client.on_socket_unregister_write = lambda c, u, sock: loop.remove_writer(sock)
    client.connect(broker.host, broker.port)

    async def misc() -> None:
        while client.loop_misc() == paho.MQTT_ERR_SUCCESS:  # noqa: ASYNC110 - paho's example
            await asyncio.sleep(1)

    misc_task = asyncio.create_task(misc())
    await connected
    started = time.perf_counter()
    publish_more()
    await finished
    elapsed = time.perf_counter() - started
    client.disconnect()
    misc_task.cancel()
    return count / elapsed


async def aiomqtt_loop(broker: Mosquitto, count: int) -> float:
    async with aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5,
                              max_inflight_messages=WINDOW) as client:
        client.pending_calls_threshold = count
        room = asyncio.Semaphore(WINDOW)

        async def one() -> None:
            try:
                await client.publish(TOPIC, PAYLOAD, qos=1)
            finally:
                room.release()

        started = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for _ in range(count):
                await room.acquire()
                tg.create_task(one())
        return count / (time.perf_counter() - started)


async def gmqtt_loop(broker: Mosquitto, count: int) -> float:
    import gmqtt  # type: ignore[import-not-found,unused-ignore]
    from gmqtt.mqtt.handler import MqttPackageHandler  # type: ignore[import-not-found,unused-ignore]

    loop = asyncio.get_running_loop()
    acked = 0
    room = asyncio.Event()
    done = loop.create_future()
    original = MqttPackageHandler._handle_puback_packet

    def counted(self: Any, cmd: int, packet: bytes) -> None:
        nonlocal acked
        original(self, cmd, packet)
        acked += 1
        room.set()
        if acked == count:
            done.set_result(None)

    MqttPackageHandler._handle_puback_packet = counted
    try:
        client = gmqtt.Client("bench-gmqtt")
        await client.connect(broker.host, broker.port, version=gmqtt.constants.MQTTv50)
        started = time.perf_counter()
        sent = 0
        while sent < count:
            # gmqtt's id pool holds Receive Maximum - 1 ids: its window is 99
            while sent < count and sent - acked < WINDOW - 1:
                client.publish(TOPIC, PAYLOAD, qos=1)
                sent += 1
            room.clear()
            await room.wait()
        await done
        elapsed = time.perf_counter() - started
        await client.disconnect()
    finally:
        MqttPackageHandler._handle_puback_packet = original
    return count / elapsed


async def lean_loop(
    broker: Mosquitto, count: int, payload: bytes = PAYLOAD, *, topic: str = TOPIC,
    payloads: Sequence[bytes] | None = None,
) -> float:
    """hallctl's publish-only client: the loop the forwarder's MQTT sink runs, without the
    journal; ``payloads`` in turn when given (else ``payload`` ``count`` times) to ``topic``."""
    client = await MqttPublisher.connect(broker.host, broker.port, client_id="bench-lean",
                                         window=WINDOW)
    framed = MqttPublisher.topic(topic)
    batch = Batch(count)
    each = payloads if payloads is not None else [payload] * count
    started = time.perf_counter()
    for body in each:
        if client.outstanding >= client.window:
            await client.wait_for_room()
        client.publish(topic, framed, body, batch)
    client.flush()
    await batch.done
    elapsed = time.perf_counter() - started
    await client.close()
    return count / elapsed


def cpu_s() -> float:
    """CPU seconds of this process so far, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("gmqtt").setLevel(logging.WARNING)
    n = args.events

    # Mosquitto announces its max_inflight_messages (default 20) as the MQTT 5 Receive Maximum,
    # which gmqtt and mqtt_wire honour (paho does not): the window is 100 for everyone.
    with Mosquitto(extra_config=f"max_inflight_messages {WINDOW}") as broker:
        loops: dict[str, Callable[[], Awaitable[float]]] = {
            "paho, own thread": lambda: asyncio.to_thread(paho_thread, broker, n),
            "paho on the asyncio loop": lambda: paho_asyncio(broker, n),
            "aiomqtt": lambda: aiomqtt_loop(broker, n),
        }
        if importlib.util.find_spec("gmqtt") is not None:
            loops["gmqtt (PUBACKs counted, reason codes ignored)"] = lambda: gmqtt_loop(broker, n)
        loops["hallctl mqtt_wire (publish-only)"] = lambda: lean_loop(broker, n)
        rates: dict[str, list[float]] = {name: [] for name in loops}
        cpu: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(args.rounds):
            for name, run in loops.items():
                before = cpu_s()
                print(f"  … {name}", end="\r", flush=True)
                rates[name].append(await run())
                cpu[name].append((cpu_s() - before) / n * 1e6)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    best = max(medians.values())
    print(f"{n:,} QoS 1 publishes of {len(PAYLOAD)} bytes, window {WINDOW}; medians of "
          f"{args.rounds} alternated rounds; ratio to the fastest; CPU of this process "
          f"(all threads, connect included) per message")
    for name, rate in medians.items():
        print(f"  {name:48s} {rate:9,.0f} msg/s  {rate / best:5.0%}  "
              f"{statistics.median(cpu[name]):5.1f} µs CPU/msg   (rounds: "
              f"{', '.join(f'{r:,.0f}' for r in rates[name])})")


if __name__ == "__main__":
    asyncio.run(main())
