"""The MQTT route of a city: the generated Mosquitto bridge carries a hall's events, retained
state and status from the hall's broker to the city's broker (two real Mosquittos)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hallctl.forward.bridge import bridge_config

EXAMPLE = Path(__file__).parent.parent / "config" / "mosquitto-bridge-example.conf"


def test_the_shipped_example_is_what_hallctl_generates() -> None:
    assert EXAMPLE.read_text() == bridge_config(
        "xa-zwfw", "mqtt.city.example:8883",
        tls_ca="/etc/mosquitto/ca_certificates/city-ca.pem", username="hall-xa-zwfw",
    )
    with pytest.raises(ValueError, match="host:port"):
        bridge_config("h1", "mqtt://city")


async def test_events_and_state_cross_the_bridge(mosquitto_factory: Any) -> None:
    city = mosquitto_factory()
    hall = mosquitto_factory(extra_config=bridge_config("h1", f"127.0.0.1:{city.port}"))
    async with aiomqtt.Client("127.0.0.1", city.port) as at_city:
        await at_city.subscribe("hallctl/+/#", qos=1)
        async with aiomqtt.Client("127.0.0.1", hall.port) as at_hall:
            # the bridge connects in the background: publish until the city sees the first
            got: list[aiomqtt.Message] = []
            state_seen = asyncio.Event()

            async def receive() -> None:
                async for message in at_city.messages:
                    if not message.topic.matches("hallctl/h1/bridge"):
                        got.append(message)
                    if message.topic.value.endswith("state/calls"):
                        state_seen.set()

            reader = asyncio.create_task(receive())
            try:
                async with asyncio.timeout(15):
                    while not got:
                        await at_hall.publish("hallctl/h1/status", b"online", qos=1, retain=True)
                        await asyncio.sleep(0.2)
                    for n in range(20):
                        await at_hall.publish("hallctl/h1/events/ticket.issued", str(n), qos=1)
                    await at_hall.publish("hallctl/h1/state/calls", b"{}", qos=1, retain=True)
                    await at_hall.publish("hallctl/h1/request/x", b"{}", qos=1)  # not bridged
                    await state_seen.wait()
            finally:
                reader.cancel()
    events = [m.payload for m in got if m.topic.value == "hallctl/h1/events/ticket.issued"]
    assert events == [str(n).encode() for n in range(20)]  # all, in order
    assert not any("request" in m.topic.value for m in got)
