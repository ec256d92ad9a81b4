"""The publish-only MQTT 5 client of the forwarder, against a real Mosquitto: it honours the
broker's Receive Maximum, keeps an idle connection alive with PINGREQ, and notices a broker
that stops answering (a silent network) within about a keepalive."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hallctl.broker import Mosquitto
from hallctl.forward.mqtt_wire import Batch, MqttPublisher, WireError


async def test_the_window_is_capped_by_the_brokers_receive_maximum(
    mosquitto_factory: Any,
) -> None:
    default: Mosquitto = mosquitto_factory()  # Mosquitto announces max_inflight_messages 20
    wide: Mosquitto = mosquitto_factory(extra_config="max_inflight_messages 100")
    for broker, expected in ((default, 20), (wide, 100)):
        client = await MqttPublisher.connect(broker.host, broker.port, client_id="w",
                                             window=100)
        assert client.window == expected
        batch = Batch(300)
        topic = MqttPublisher.topic("t/x")
        for n in range(300):
            if client.outstanding >= client.window:
                await client.wait_for_room()
            assert client.outstanding < expected
            client.publish("t/x", topic, b"%d" % n, batch)
        client.flush()
        await asyncio.wait_for(batch.done, 10)
        await client.close()


async def test_an_idle_connection_is_kept_alive_by_pingreq(mosquitto: Mosquitto) -> None:
    client = await MqttPublisher.connect(mosquitto.host, mosquitto.port, client_id="idle",
                                         keepalive=1)
    await asyncio.sleep(2.5)  # the broker drops a client silent for 1.5 × keepalive
    batch = Batch(1)
    client.publish("t/idle", MqttPublisher.topic("t/idle"), b"still here", batch)
    client.flush()
    await asyncio.wait_for(batch.done, 5)
    await client.close()
    assert "idle has exceeded timeout" not in mosquitto.log_text()


async def test_a_broker_that_stops_answering_fails_the_batch_within_a_keepalive() -> None:
    # A peer that accepts the connection, says CONNACK, then never answers again: what a
    # dead network path looks like from our side (no RST, no FIN).
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # CONNECT
        writer.write(b"\x20\x03\x00\x00\x00")  # CONNACK, success, no properties
        await writer.drain()
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        client = await MqttPublisher.connect("127.0.0.1", port, client_id="s", keepalive=1)
        batch = Batch(1)
        client.publish("t/s", MqttPublisher.topic("t/s"), b"x", batch)
        client.flush()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(WireError, match="no answer from the broker"):
            await asyncio.wait_for(batch.done, 5)
        assert loop.time() - started < 2.5
        await client.close()
