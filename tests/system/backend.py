"""A back end as the hall sees one: a persistent MQTT 5 session that collects every event."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class BackEnd:
    def __init__(self, url: str, base: str, client_id: str = "backend") -> None:
        u = urlparse(url)
        self.base = base
        self.events: list[dict[str, Any]] = []
        self.retained: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600  # queued for us while we or the broker are away
        self.client.connect(
            u.hostname or "127.0.0.1", u.port or 1883, clean_start=False, properties=props
        )
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe(f"{self.base}/#", qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            if "/events/" in msg.topic:
                self.events.append(json.loads(msg.payload))
            elif msg.retain or "/state/" in msg.topic or msg.topic.endswith("/status"):
                self.retained[msg.topic] = msg.payload

    def unique_events(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {e["id"]: e for e in self.events}

    def wait_for(self, ids: set[str], within_s: float = 30.0) -> set[str]:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            missing = ids - set(self.unique_events())
            if not missing:
                return missing
            time.sleep(0.1)
        return ids - set(self.unique_events())

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
