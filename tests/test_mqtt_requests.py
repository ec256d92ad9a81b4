"""Requests over MQTT 5: `<base>/request/<action>` → answer on the response topic.

A real back end's view: publish a request with a response topic and correlation data, read
the answer. Bad input is answered with an error code and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hallctl.broker import Mosquitto
from hallctl.journal import Journal
from hallctl.mqtt.link import MqttLink
from tests.test_mqtt_support import (
    BROKER_OPTIONS,
    Requester,
    StandInEngine,
    requester,
    running_link,
    settings_for,
    subscribed,
)


@pytest.fixture
def broker(mosquitto_factory: Any) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[no-any-return]


@pytest.fixture
def engine(journal: Journal) -> StandInEngine:
    return StandInEngine(journal)


@pytest.fixture
async def link(broker: Mosquitto, engine: StandInEngine) -> AsyncIterator[MqttLink]:
    async with running_link(engine, settings_for(broker.url)) as running:
        yield running


@pytest.fixture
async def backend(broker: Mosquitto, link: MqttLink) -> AsyncIterator[Requester]:
    async with requester(broker.url, link.topics.base) as req:
        yield req


async def test_a_request_is_executed_and_answered_with_its_correlation_data(
    backend: Requester, engine: StandInEngine, journal: Journal
) -> None:
    answer = await backend.call("open_window", {"window": 5, "staff": "S005"},
                                correlation=b"corr-1")
    assert answer == {"ok": True, "result": {"window": 5, "seq": 1}}
    # The topic names the action; the payload carries its fields.
    assert engine.requests[0]["action"] == "open_window"
    assert engine.requests[0]["staff"] == "S005"
    assert journal.last_seq() == 1


async def test_the_answer_carries_json_content_type_and_the_same_correlation(
    broker: Mosquitto, link: MqttLink
) -> None:
    async with subscribed(broker.url, "backend/responses/answers") as answers, \
            requester(broker.url, link.topics.base) as backend:
        await backend.send("status", {}, correlation=b"\x00\x01binary",
                           response_topic="backend/responses/answers")
        await answers.wait_until(lambda: len(answers.messages) == 1)
    message = answers.messages[0]
    assert getattr(message.properties, "CorrelationData", None) == b"\x00\x01binary"
    assert getattr(message.properties, "ContentType", None) == "application/json"
    assert json.loads(message.payload)["ok"] is True


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("open_window", b"{not json", "bad_json"),
        ("open_window", b"\xff\xfe", "bad_json"),
        ("open_window", b"[5]", "bad_request"),
        ("open_window", b'"5"', "bad_request"),
        ("status", b'{"action": "close_window", "window": 5}', "action_mismatch"),
        ("Open-Window", b'{"window": 5}', "unknown_action"),
        # the daemon's report writer announces reports; a back end may not forge one
        ("record_report", b'{"day": "2026-11-25", "summary": {}}', "forbidden"),
    ],
)
async def test_bad_input_is_answered_with_an_error_code_and_changes_nothing(
    backend: Requester, engine: StandInEngine, journal: Journal, link: MqttLink,
    action: str, payload: bytes, code: str,
) -> None:
    answer = await backend.call(action, payload)
    assert answer["ok"] is False
    assert answer["error"]["code"] == code
    assert answer["error"]["message"] and answer["error"]["message_zh"]
    assert engine.requests == []  # never reached the engine
    assert journal.last_seq() == 0
    assert link.requests.stats.rejected == 1


async def test_an_action_the_engine_does_not_know_gets_the_engines_error(
    backend: Requester, journal: Journal
) -> None:
    answer = await backend.call("fly_to_moon", {})
    assert answer["ok"] is False and answer["error"]["code"] == "unknown_action"
    assert journal.last_seq() == 0


async def test_a_request_without_response_topic_is_not_executed_but_counted(
    backend: Requester, engine: StandInEngine, link: MqttLink
) -> None:
    await backend.send("take_ticket", {"service": "BDC"}, response_topic=None)
    answer = await backend.call("status", {})  # requests are handled in arrival order
    assert answer["ok"] is True
    assert link.requests.stats.no_response_topic == 1
    assert [r["action"] for r in engine.requests] == ["status"]


async def test_a_redelivered_request_is_answered_again_but_executed_once(
    backend: Requester, journal: Journal
) -> None:
    # Same correlation data, no request_id: what an MQTT redelivery or a retry looks like.
    first = await backend.call("take_ticket", {"service": "BDC"}, correlation=b"retry-7")
    backend.responses.pop(b"retry-7")
    again = await backend.call("take_ticket", {"service": "BDC"}, correlation=b"retry-7")
    assert first == again
    assert journal.last_seq() == 1  # one ticket, not two


async def test_an_explicit_request_id_wins_over_correlation_data(
    backend: Requester, journal: Journal
) -> None:
    one = await backend.call("take_ticket", {"service": "BDC", "request_id": "kiosk-1-0042"})
    two = await backend.call("take_ticket", {"service": "BDC", "request_id": "kiosk-1-0042"})
    other = await backend.call("take_ticket", {"service": "BDC", "request_id": "kiosk-1-0043"})
    assert one == two and other != one
    assert journal.last_seq() == 2


async def test_a_slow_request_blocks_neither_other_requests_nor_forwarding(
    broker: Mosquitto, backend: Requester, engine: StandInEngine, link: MqttLink
) -> None:
    async with subscribed(broker.url, f"{link.topics.base}/events/#") as events:
        slow = await backend.send("slow", {})
        assert (await backend.call("status", {}))["ok"] is True
        await engine.append("ticket.issued", count=10)
        await events.wait_until(lambda: len(events.messages) == 10, within_s=3)
        assert not backend.responses[slow].done()
        engine.release_slow.set()
        assert (await asyncio.wait_for(backend.responses[slow], 5))["result"] == {"slow": True}


async def test_beyond_the_backlog_requests_are_answered_busy_at_once(
    broker: Mosquitto, engine: StandInEngine
) -> None:
    settings = settings_for(broker.url, request_concurrency=1, request_backlog=1)
    async with running_link(engine, settings) as link, \
            requester(broker.url, link.topics.base) as backend:
        first = await backend.send("slow", {})
        second = await backend.send("slow", {})
        answer = await backend.call("status", {})
        assert answer["error"]["code"] == "busy"
        engine.release_slow.set()
        assert (await asyncio.wait_for(backend.responses[first], 5))["ok"] is True
        assert (await asyncio.wait_for(backend.responses[second], 5))["ok"] is True
        assert link.requests.stats.busy == 1


async def test_mosquitto_rr_round_trip_as_in_the_docs(broker: Mosquitto, link: MqttLink) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        ["mosquitto_rr", "-p", str(broker.port), "-t", f"{link.topics.base}/request/open_window",
         "-e", "backend/responses/rr", "-m", '{"window": 3}', "-W", "5"],
        capture_output=True, text=True, timeout=10,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "result": {"window": 3, "seq": 1}}
