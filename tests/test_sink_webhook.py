"""Webhook sink and the generic forwarder, against a real aiohttp receiver that fails in every way.

The receiver's view is the specification: after dropping repeats by event id, it holds exactly
the journal's records (those the filters let through), in journal order, each batch correctly
signed. Failures may add repeats, never gaps; a 4xx parks the sink with an alarm.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.sinks_support import (
    SECRET,
    WebhookReceiver,
    issue,
    journal_ids,
    running_engine,
    sinks_running,
    wait_for,
)

FAST_RETRY = "retry_min_s: 0.01, retry_max_s: 0.05"


def hook(name: str, url: str, more: str = "", timeout_s: float = 0.5) -> str:
    return (
        f"  - {{name: {name}, type: webhook, url: '{url}', secret_env: HOOK_SECRET, "
        f"timeout_s: {timeout_s}, {FAST_RETRY}{', ' + more if more else ''}}}\n"
    )


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)


async def test_every_record_arrives_signed_in_journal_order(tmp_path: Path) -> None:
    async with WebhookReceiver() as rx, running_engine(
        tmp_path, "sinks:\n" + hook("city", rx.url, "batch: 7, start: beginning")
    ) as engine:
        await issue(engine, 30)
        async with sinks_running(engine) as sinks:
            await issue(engine, 20)
            last = engine.last_seq()
            await wait_for(lambda: len(rx.accepted) >= last, what="all records")
            await wait_for(lambda: engine.journal.cursor("sink:city") == last)
            health = sinks.report()[0]
        assert [e["id"] for e in rx.accepted] == journal_ids(engine.journal)  # no repeats
        assert [e["seq"] for e in rx.accepted] == list(range(1, last + 1))
        assert rx.bad_signatures == 0 and rx.requests == -(-last // 7)
        first = rx.accepted[1]
        assert first["hall"] == "sys-hall" and first["type"] == "ticket.issued"
        assert first["data"]["ticket"] == "B0001"
        assert health["state"] == "ok" and health["lag_records"] == 0 and health["lag_s"] == 0


async def test_failures_of_every_kind_add_repeats_never_gaps(tmp_path: Path) -> None:
    async with WebhookReceiver() as rx, running_engine(
        tmp_path, "sinks:\n" + hook("city", rx.url, "batch: 10, start: beginning")
    ) as engine:
        rx.script = [500, "drop", "timeout", 503, "ok", "ok-late", 429, 502, "ok", "drop"]
        async with sinks_running(engine) as sinks:
            await issue(engine, 60)
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:city") == last, what="cursor")
            health = sinks.report()[0]
        assert [e["id"] for e in rx.unique] == journal_ids(engine.journal)
        assert [e["seq"] for e in rx.unique] == list(range(1, last + 1))
        assert len(rx.accepted) > last, "the late answer should have caused a re-send"
        assert health["state"] == "ok" and health["last_error"] is not None


async def test_a_4xx_parks_the_sink_with_an_alarm_and_skips_nothing(tmp_path: Path) -> None:
    async with WebhookReceiver() as rx, running_engine(
        tmp_path, "sinks:\n" + hook("city", rx.url, "start: beginning, park_retry_s: 0.3")
    ) as engine:
        rx.script = [422]
        await issue(engine, 5)
        async with sinks_running(engine) as sinks:
            await wait_for(lambda: sinks.report()[0]["state"] == "parked", what="parked")
            status = (await engine.execute({"action": "status"}))["result"]
            assert engine.journal.cursor("sink:city") == 0  # nothing skipped
            alarms = [a for a in status["device_alarms"] if a["device"] == "sink:city"]
            assert alarms and "HTTP 422" in alarms[0]["detail"]
            assert "HTTP 422" in sinks.report()[0]["last_error"]
            # the receiver is fixed: the parked batch goes through on the next try
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:city") > last, what="resumed")
            await wait_for(lambda: not any(
                a["device"] == "sink:city" for a in engine.hall.state.device_alarms.values()
            ), what="alarm cleared")
        types = [e["type"] for e in rx.unique]
        assert types[:6] == ["day.started"] + ["ticket.issued"] * 5
        assert "device.alarm" in types  # raised and cleared: both journaled and forwarded


async def test_filters_choose_event_types_and_drop_fields(tmp_path: Path) -> None:
    more = "start: beginning, events: ['ticket.*'], exclude_events: [ticket.called], " \
           "drop_fields: [service_name, ticket]"
    async with WebhookReceiver() as rx, running_engine(
        tmp_path, "sinks:\n" + hook("filtered", rx.url, more)
    ) as engine:
        await engine.execute({"action": "open_window", "window": 3})
        await issue(engine, 3)
        await engine.execute({"action": "call_next", "window": 3})
        async with sinks_running(engine):
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:filtered") == last)
        assert [e["type"] for e in rx.accepted] == ["ticket.issued"] * 3
        assert all("ticket" not in e["data"] and "service" in e["data"] for e in rx.accepted)


@pytest.mark.parametrize(("start", "first_type"), [("now", None), ("today", "day.started")])
async def test_a_new_sink_starts_where_its_start_says(
    tmp_path: Path, start: str, first_type: str | None
) -> None:
    async with WebhookReceiver() as rx, running_engine(
        tmp_path, "sinks:\n" + hook("late", rx.url, f"start: {start}")
    ) as engine:
        await issue(engine, 4)
        async with sinks_running(engine):
            await wait_for(lambda: engine.journal.has_cursor("sink:late"))
            await issue(engine, 2)
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:late") == last)
        types = [e["type"] for e in rx.accepted]
        if first_type is None:
            assert types == ["ticket.issued"] * 2
        else:
            assert types == ["day.started"] + ["ticket.issued"] * 6


async def test_a_slow_sink_holds_back_neither_the_others_nor_the_hall(tmp_path: Path) -> None:
    async with WebhookReceiver(delay_s=1.0) as slow, WebhookReceiver() as fast:
        sinks = hook("slow", slow.url, "batch: 1, start: beginning", timeout_s=5) + hook(
            "fast", fast.url, "batch: 5, start: beginning"
        )
        async with running_engine(tmp_path, "sinks:\n" + sinks) as engine:
            async with sinks_running(engine) as component:
                loop = asyncio.get_running_loop()
                started = loop.time()
                await issue(engine, 40)
                issued_in = loop.time() - started
                last = engine.last_seq()
                await wait_for(lambda: engine.journal.cursor("sink:fast") == last, within_s=5)
                slow_health = component.report()[0]
            # the fast sink is done while the slow one is still on its first few records
            assert slow_health["lag_records"] > last - 10
            assert slow_health["lag_s"] >= 0
            assert len(slow.accepted) < 10 <= len(fast.accepted)
            # the hall answered every ticket long before the slow sink could take even ten
            assert issued_in < 10 * 1.0
