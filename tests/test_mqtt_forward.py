"""Event forwarding: every journal record reaches `<base>/events/<type>`, in order, at least once.

The subscriber's view is the specification: drop repeats by `id` and what is left is exactly
the journal, seq 1..N, in order. Outages and dropped connections may add repeats, never gaps.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from hallctl.broker import Mosquitto
from hallctl.forward.mqtt_sink import CURSOR as SINK
from hallctl.journal import Journal
from tests.test_mqtt_support import (
    BROKER_OPTIONS,
    Collector,
    StandInEngine,
    client_for,
    persistent_backend,
    running_forwarder,
    running_link,
    settings_for,
    subscribed,
)


@pytest.fixture
def broker(mosquitto_factory: Any) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[no-any-return]


def assert_complete_and_in_order(received: list[dict[str, Any]], last_seq: int) -> None:
    """Repeats allowed (at least once); once repeats are dropped by id: seq 1..last, in order."""
    seen: set[str] = set()
    firsts: list[int] = []
    high = 0
    for envelope in received:
        if envelope["id"] in seen:
            assert envelope["seq"] <= high, "a repeat arrived ahead of its place"
            continue
        seen.add(envelope["id"])
        assert envelope["seq"] > high, f"seq {envelope['seq']} arrived after {high}"
        high = envelope["seq"]
        firsts.append(envelope["seq"])
    assert firsts == list(range(1, last_seq + 1))


async def test_every_record_is_published_to_its_type_topic_in_journal_order(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal, hall_id="xa-zwfw")
    async with subscribed(broker.url, "hallctl/xa-zwfw/events/#") as seen:
        async with running_link(engine, settings_for(broker.url, forward_batch=50)):
            for n in range(100):
                await engine.append("ticket.issued", {"ticket": f"A{n:03d}"})
                await engine.append("ticket.called", {"ticket": f"A{n:03d}", "window": 5})
            await seen.wait_until(lambda: len(seen.messages) >= 200)
            await asyncio.sleep(0.1)
        assert journal.cursor(SINK) == 200

    assert len(seen.messages) == 200  # no repeats without a failure
    first = seen.messages[0]
    assert first.topic.value == "hallctl/xa-zwfw/events/ticket.issued"
    assert first.qos == 1 and not first.retain
    envelope = json.loads(first.payload)
    record = journal.read_after(0, 1)[0]
    assert envelope == {
        "id": record.id, "seq": 1, "hall": "xa-zwfw", "type": "ticket.issued",
        "ts": record.ts, "v": 1, "data": {"ticket": "A000", "n": 0},
    }
    assert [m.topic.value.rsplit("/", 1)[1] for m in seen.messages[:4]] == [
        "ticket.issued", "ticket.called", "ticket.issued", "ticket.called"]
    assert_complete_and_in_order(seen.events(), 200)


async def test_a_restarted_daemon_resumes_after_the_durable_cursor(
    broker: Mosquitto, journal: Journal
) -> None:
    async with subscribed(broker.url, "hallctl/h1/events/#") as seen:
        engine = StandInEngine(journal)
        async with running_link(engine, settings_for(broker.url)):
            await engine.append("ticket.issued", count=100)
            await seen.wait_until(lambda: len(seen.messages) == 100)
            await asyncio.sleep(0.1)
        # The daemon is down; the hall keeps working and journaling.
        await engine.append("ticket.issued", count=50)
        assert journal.cursor(SINK) == 100

        engine = StandInEngine(journal)
        async with running_link(engine, settings_for(broker.url)):
            await seen.wait_until(lambda: len(seen.messages) >= 150)
            await asyncio.sleep(0.2)
    # Nothing acknowledged before was sent again, nothing new was skipped.
    assert [e["seq"] for e in seen.events()] == list(range(1, 151))


async def test_a_broker_outage_under_load_loses_nothing(
    mosquitto_factory: Any, journal: Journal, tmp_path: Path
) -> None:
    # The back end keeps a persistent session on a broker with persistence, as in production:
    # the broker queues for it while it is away, including across the broker's restart.
    broker: Mosquitto = mosquitto_factory(extra_config=(
        f"{BROKER_OPTIONS}\npersistence true\npersistence_location {tmp_path}/\n"))
    backend = persistent_backend()
    async with client_for(broker.url, **backend) as client:
        await client.subscribe("hallctl/h1/events/#", qos=1)

    engine = StandInEngine(journal)
    async with running_link(engine, settings_for(broker.url)) as link:
        await engine.append("ticket.issued", count=300)
        await asyncio.wait_for(_cursor_at(journal, 300), 10)

        await broker.astop()
        for _ in range(20):  # the hall goes on: 2,000 events in 20 commits
            await engine.append("ticket.called", count=100)
        await asyncio.sleep(0.3)
        assert journal.cursor(SINK) == 300  # nothing is acknowledged while the broker is away
        assert not link.online

        await broker.astart()
        await asyncio.wait_for(_cursor_at(journal, 2300), 20)

    seen = Collector()
    async with client_for(broker.url, **backend) as client:
        async def pump() -> None:
            async for message in client.messages:
                seen.add(message)

        task = asyncio.create_task(pump())
        await seen.wait_until(lambda: len(seen.events()) >= 2300, within_s=20)
        task.cancel()
    assert_complete_and_in_order(seen.events(), 2300)


async def test_a_connection_dropped_mid_batch_resends_from_the_cursor_in_order(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=6000)
    async with subscribed(broker.url, "hallctl/h1/events/#") as seen:
        settings = settings_for(broker.url, forward_batch=500)
        async with running_forwarder(engine, settings) as forwarder:
            await asyncio.wait_for(_cursor_at(journal, 1000, poll_s=0.001), 30)
            # Another client with the forwarding connection's client id takes the session
            # over: the broker drops it in the middle of the stream, PUBACKs outstanding.
            async with client_for(broker.url, identifier=settings.forward_client_id_for("h1")):
                pass
            await asyncio.wait_for(_cursor_at(journal, 6000), 30)
            assert forwarder.health.last_error is not None  # it did drop, and came back
        # In order: once seq 6000 is in, everything before it is too (checked below).
        await seen.wait_until(lambda: seen.events()[-1:] != [] and seen.events()[-1]["seq"] == 6000,
                              within_s=30)
    assert_complete_and_in_order(seen.events(), 6000)


async def test_an_idle_forwarder_wakes_up_for_a_new_record(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    async with subscribed(broker.url, "hallctl/h1/events/#") as seen, \
            running_link(engine, settings_for(broker.url)):
        await asyncio.sleep(0.3)  # idle: waiting in wait_beyond, not polling
        await engine.append("device.offline", {"device": "printer-1"})
        await seen.wait_until(lambda: len(seen.messages) == 1, within_s=2)
    assert seen.messages[0].topic.value == "hallctl/h1/events/device.offline"


async def _cursor_at(journal: Journal, seq: int, poll_s: float = 0.02) -> None:
    # Polling: the journal has no change notification for cursors, and a test may poll.
    while await asyncio.to_thread(journal.cursor, SINK) < seq:  # noqa: ASYNC110
        await asyncio.sleep(poll_s)
