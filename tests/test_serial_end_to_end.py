"""Wire to back end: a key press on a pty reaches the strip, the keypad and a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiomqtt

from hallctl.mqtt.link import MqttLink
from hallctl.mqtt.settings import MqttSettings
from tests.drivers_support import rig
from tests.serial_support import eventually
from tests.test_mqtt_support import running_forwarder

CALL = 0x0C


async def test_key_press_to_strip_keypad_and_mqtt_event(tmp_path: Path, mosquitto: Any) -> None:
    async with rig(tmp_path) as r, aiomqtt.Client("127.0.0.1", mosquitto.port) as backend:
        base = f"hallctl/{r.engine.hall_id}"
        await backend.subscribe(f"{base}/events/#", qos=1)
        seen: list[dict[str, Any]] = []

        async def collect() -> None:
            async for message in backend.messages:
                assert isinstance(message.payload, bytes)
                seen.append(json.loads(message.payload))

        collector = asyncio.create_task(collect())
        settings = MqttSettings(url=mosquitto.url)
        # the link, and the MQTT sink's forwarder that publishes the events (as the daemon)
        async with MqttLink(r.engine, settings) as link, running_forwarder(r.engine, settings):
            await asyncio.wait_for(link.wait_online(), 10)
            await r.do("open_window", window=1, staff="S1")
            await r.do("take_ticket", service="BDC")

            assert await r.bus.press(1, CALL)  # real FF 68 frame on the keypad's pty

            await eventually(lambda: r.led.shown_text.get(1) == "请A001号到1号窗口")
            await eventually(lambda: r.bus.shown.get(1, {}).get("number") == "001")
            await eventually(lambda: any(e["type"] == "ticket.called" for e in seen), within=10)
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        called = next(e for e in seen if e["type"] == "ticket.called")
        assert called["data"]["ticket"] == "A001" and called["data"]["window"] == 1
        assert called["hall"] == r.engine.hall_id and called["seq"] > 0
