"""NATS JetStream sink against a real nats-server: subject per hall and type, Nats-Msg-Id = event
id (the stream drops re-sends), PubAck = delivered, and a server outage loses nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nats

from hallctl.forward.config import NatsSink
from hallctl.forward.jetstream import NatsDelivery
from hallctl.journal import Journal
from tests.backend_servers import NatsServer
from tests.sinks_support import issue, journal_ids, running_engine, sinks_running, wait_for


def nats_sink(url: str, more: str = "") -> str:
    return (
        f"sinks:\n  - {{name: js, type: nats, servers: ['{url}'], start: beginning, "
        f"retry_min_s: 0.05, retry_max_s: 0.2, timeout_s: 2{', ' + more if more else ''}}}\n"
    )


async def stream_messages(url: str, stream: str = "HALLCTL") -> list[tuple[str, Any, dict]]:
    """(subject, headers, envelope) of every message in the stream, in stream order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            out.append((msg.subject, msg.headers, json.loads(msg.data)))
        return out
    finally:
        await nc.close()


async def test_each_record_goes_to_its_subject_with_its_id(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    async with running_engine(tmp_path, nats_sink(nats_server.url, "batch: 8")) as engine:
        await issue(engine, 20)
        async with sinks_running(engine):
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:js") == last)
        messages = await stream_messages(nats_server.url)
        assert [m[2]["id"] for m in messages] == journal_ids(engine.journal)
        subject, headers, envelope = messages[1]
        assert subject == "hallctl.sys-hall.ticket.issued"
        assert headers["Nats-Msg-Id"] == envelope["id"]
        assert messages[0][0] == "hallctl.sys-hall.day.started"


async def test_the_stream_drops_a_re_sent_batch(tmp_path: Path, nats_server: NatsServer) -> None:
    async with running_engine(tmp_path) as engine:
        await issue(engine, 6)
    with Journal(tmp_path / "data" / "journal.db") as journal:
        records = journal.read_after(0)
    sink = NatsDelivery(NatsSink(type="nats", name="js", servers=[nats_server.url]), "h1")
    await sink.open()
    try:
        await sink.deliver(records[:3])
        await sink.deliver(records)  # after a crash: from the cursor, overlapping
    finally:
        await sink.close()
    messages = await stream_messages(nats_server.url)
    assert [m[2]["id"] for m in messages] == [r.id for r in records]


async def test_a_server_outage_loses_nothing(tmp_path: Path, nats_server: NatsServer) -> None:
    async with running_engine(tmp_path, nats_sink(nats_server.url, "batch: 5")) as engine:
        async with sinks_running(engine) as sinks:
            await issue(engine, 10)
            await wait_for(lambda: engine.journal.cursor("sink:js") == engine.last_seq())
            nats_server.stop()
            try:
                await issue(engine, 15)
                await wait_for(lambda: sinks.report()[0]["state"] == "retrying")
                assert sinks.report()[0]["lag_records"] == 15
            finally:
                nats_server.start()
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:js") == last, within_s=20)
        messages = await stream_messages(nats_server.url)
        assert [m[2]["id"] for m in messages] == journal_ids(engine.journal)
