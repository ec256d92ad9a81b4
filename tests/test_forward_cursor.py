"""The forwarder's durable cursor against a real Mosquitto that stops acknowledging mid-batch.

A proxy of the test's own making sits between the MQTT sink and the broker and passes the
broker's first N PUBACKs, then holds every later one (other packets, PINGRESP too, pass): the
broker has every message, the forwarder knows of only N. The cursor must never pass message
N; a crash at that moment re-sends at most what docs/mqtt.md promises (SAVE_EVERY + pipeline
batches), and a stop saves everything acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hallctl.broker import Mosquitto
from hallctl.forward.forwarder import SAVE_EVERY
from hallctl.forward.mqtt_sink import CURSOR, MqttSink
from hallctl.journal import Journal
from tests.test_mqtt_forward import assert_complete_and_in_order
from tests.test_mqtt_support import (
    BROKER_OPTIONS,
    StandInEngine,
    running_forwarder,
    settings_for,
    subscribed,
)

PUBACK = 4
BATCH = 500


class PubackGate:
    """TCP proxy to ``broker``: passes the first ``allow`` PUBACKs to the client, holds the rest."""

    def __init__(self, broker: Mosquitto, allow: int) -> None:
        self._broker = broker
        self.allow = allow
        self.passed = 0
        self.held = 0
        self.url = ""
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[PubackGate]:
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.url = f"mqtt://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with server:
            try:
                yield self
            finally:
                for task in self._tasks:
                    task.cancel()

    async def _connection(self, client_r: asyncio.StreamReader,
                          client_w: asyncio.StreamWriter) -> None:
        broker_r, broker_w = await asyncio.open_connection(self._broker.host, self._broker.port)
        for pump in (self._up(client_r, broker_w), self._down(broker_r, client_w)):
            task = asyncio.create_task(pump)
            self._tasks.add(task)

    async def _up(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
        writer.close()

    async def _down(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = bytearray()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                buf += data
                out = bytearray()
                while (end := _packet_end(buf)) is not None:
                    packet, buf = buf[:end], buf[end:]
                    if packet[0] >> 4 == PUBACK:
                        if self.passed >= self.allow:
                            self.held += 1
                            continue
                        self.passed += 1
                    out += packet
                writer.write(out)
        writer.close()


def _packet_end(buf: bytearray) -> int | None:
    """The end of the first whole MQTT packet in ``buf`` (None: not all of it is in yet)."""
    length, shift = 0, 0
    for i in range(1, min(len(buf), 5)):
        length |= (buf[i] & 0x7F) << shift
        shift += 7
        if not buf[i] & 0x80:
            end = i + 1 + length
            return end if len(buf) >= end else None
    return None


def crash_image(journal: Journal, to: Path) -> Path:
    """What a crash now would leave on disk: every committed transaction, nothing else."""
    src, dst = sqlite3.connect(journal.path), sqlite3.connect(to)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return to


async def _until(condition: Any, within_s: float = 30) -> None:
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - a test may poll
            await asyncio.sleep(0.01)


@pytest.fixture
def broker(mosquitto_factory: Any) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[no-any-return]


async def test_the_cursor_never_passes_a_message_the_broker_has_not_acknowledged(
    broker: Mosquitto, journal: Journal, tmp_path: Path
) -> None:
    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=8000)
    acked = 5750  # in the middle of the 12th batch, past the first save (10 batches)
    async with PubackGate(broker, allow=acked).running() as gate:
        settings = settings_for(gate.url, forward_batch=BATCH)
        async with running_forwarder(engine, settings) as forwarder:
            await _until(lambda: gate.held >= 10)  # the broker has more than it acknowledged
            await asyncio.sleep(0.3)  # whatever the forwarder would do next, it has done
            saved = await asyncio.to_thread(journal.cursor, CURSOR)
            assert 0 < saved <= acked
            assert forwarder.health.cursor == saved
            # a crash now: the next run starts from `saved`
            image = crash_image(journal, tmp_path / "crashed.db")
        # stopped: every message acknowledged is saved, whole batches only (5,500)
        stopped = journal.cursor(CURSOR)
        assert saved <= stopped <= acked
        assert stopped % BATCH == 0 and acked - stopped < BATCH

    # The restart after the crash re-sends from `saved`: what was acknowledged after it, at
    # most SAVE_EVERY + pipeline batches, then the rest; nothing is missing.
    with Journal(image) as after_crash:
        assert after_crash.cursor(CURSOR) == saved
        engine = StandInEngine(after_crash)
        async with subscribed(broker.url, "hallctl/h1/events/#") as seen, \
                running_forwarder(engine, settings_for(broker.url)):
            await seen.wait_until(lambda: len(seen.messages) >= 8000 - saved, within_s=30)
            await asyncio.sleep(0.1)
    seqs = [e["seq"] for e in seen.events()]
    assert seqs == list(range(saved + 1, 8001))  # no gap, no repeat within the run
    resent = [s for s in seqs if s <= acked]
    assert len(resent) == acked - saved
    assert len(resent) <= (SAVE_EVERY + MqttSink.pipeline) * BATCH


async def test_stopping_mid_backlog_saves_what_got_through(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=3000)
    async with PubackGate(broker, allow=1200).running() as gate, \
            subscribed(broker.url, "hallctl/h1/events/#") as seen:
        async with running_forwarder(engine, settings_for(gate.url, forward_batch=BATCH)):
            await _until(lambda: gate.held >= 10)
            # fewer than SAVE_EVERY batches acknowledged: none saved yet while running
            assert journal.cursor(CURSOR) == 0
        assert journal.cursor(CURSOR) == 1000  # the two whole batches acknowledged
        await seen.wait_until(lambda: len(seen.messages) >= 1200)
    assert_complete_and_in_order(seen.events()[:1000], 1000)
    assert all(json.loads(m.payload)["hall"] == "h1" for m in seen.messages)
