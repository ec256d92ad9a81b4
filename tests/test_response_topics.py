"""Answers go only to the requester's own response subtree.

The daemon publishes under its own account, which may write its whole topic tree. A kiosk (or a
back end) that set its MQTT 5 Response Topic to `<base>/status`, `<base>/state/...`,
`<base>/events/...` or another kiosk's response topic had the daemon publish there for it.
Now such a request is not executed and nothing is published (docs/mqtt.md, docs/kiosks.md).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hallctl.broker import Mosquitto
from hallctl.mqtt.settings import MqttSettings
from tests.test_kiosk_support import BASE, running_hall
from tests.test_mqtt_support import BROKER_OPTIONS, client_for, requester, subscribed

FORGED = [
    f"{BASE}/status",
    f"{BASE}/state/windows/1",
    f"{BASE}/events/ticket.issued",
    f"{BASE}/kiosk/K2/response/1",
]


@pytest.fixture
def broker(mosquitto_factory: Any) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[no-any-return]


def _is_answer(message: aiomqtt.Message) -> bool:
    """The daemon's answers carry the request's correlation data; its state never does."""
    return ("/request/" not in message.topic.value
            and getattr(message.properties, "CorrelationData", None) is not None)


async def _publish(url: str, topic: str, response_topic: str, body: bytes) -> None:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ResponseTopic = response_topic
    props.CorrelationData = uuid.uuid4().bytes
    async with client_for(url) as client:
        await client.publish(topic, body, qos=1, properties=props)


async def test_a_kiosk_cannot_have_its_answer_published_outside_its_own_subtree(
    broker: Mosquitto, tmp_path: Path
) -> None:
    async with running_hall(broker.url, tmp_path) as hall, \
            subscribed(broker.url, f"{BASE}/#") as seen:
        await hall.do("open_window", window=1)
        before = len(seen.messages)
        for target in [*FORGED, f"{BASE}/kiosk/K1/response", "elsewhere/x"]:
            await _publish(broker.url, f"{BASE}/kiosk/K1/request/take_ticket", target,
                           b'{"service": "BDC"}')
        async with hall.kiosk("K1") as kiosk:  # its own subtree is answered as always
            answer = await kiosk.request("take_ticket", {"service": "BDC"}, timeout_s=5)
        assert answer["ok"] is True and answer["result"]["ticket"] == "A001"  # the only one
        await asyncio.sleep(0.3)
        stray = [m.topic.value for m in seen.messages[before:] if _is_answer(m)
                 and "/K1/response/" not in m.topic.value]
        assert stray == []
        assert hall.journal_types().count("ticket.issued") == 1


async def test_a_back_end_answer_goes_only_to_the_configured_response_topics(
    broker: Mosquitto, tmp_path: Path
) -> None:
    async with running_hall(broker.url, tmp_path) as hall, \
            subscribed(broker.url, f"{BASE}/#", "other/#") as seen, \
            requester(broker.url, BASE) as backend:
        before = len(seen.messages)
        for target in [*FORGED, "other/answers"]:
            await backend.send("open_window", {"window": 1}, response_topic=target)
        answer = await backend.call("status", {})  # backend/responses/...: answered
        assert answer["ok"] is True
        await asyncio.sleep(0.3)
        stray = [m.topic.value for m in seen.messages[before:] if _is_answer(m)]
        assert stray == []
        assert hall.engine.hall.state.window(1).status == "closed"  # none was executed


@pytest.mark.parametrize("bad", ["#", "+/x", "a/#/b", "a/b#", "", "/x"])
def test_response_topics_must_be_filters_with_a_fixed_first_level(bad: str) -> None:
    with pytest.raises(ValueError, match="response_topics"):
        MqttSettings(response_topics=[bad])
