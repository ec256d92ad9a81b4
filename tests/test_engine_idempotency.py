"""A repeated request id returns its first answer and changes nothing: errors included.

Before, only answers that produced events were kept: a request id first refused (queue empty,
a bad field) or answered without events ran again when repeated, and could then change the
hall. Answers are kept in the journal, so this holds across a restart too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hallctl.config import HallConfig, parse_config
from tests.test_engine import Running
from tests.test_request_fields import WITH_DEVICES


@pytest.fixture
def config() -> HallConfig:
    return parse_config(WITH_DEVICES)


async def test_a_refused_request_repeated_later_is_refused_again_and_calls_nobody(
    config: HallConfig, tmp_path: Path
) -> None:
    path = tmp_path / "j.db"
    async with Running(config, path) as engine:
        await engine.execute({"action": "open_window", "window": 1})
        first = await engine.execute({"action": "call_next", "window": 1, "request_id": "k-7"})
        assert first["ok"] is False and first["error"]["code"] == "queue_empty"
        await engine.execute({"action": "take_ticket", "service": "BDC"})
        again = await engine.execute({"action": "call_next", "window": 1, "request_id": "k-7"})
        assert again == first
        assert engine.hall.state.window(1).current is None
    # After a restart the answer comes from the journal.
    async with Running(config, path) as engine:
        seq = engine.last_seq()
        after = await engine.execute({"action": "call_next", "window": 1, "request_id": "k-7"})
        assert after == first
        assert engine.last_seq() == seq and engine.hall.state.window(1).current is None


async def test_a_bad_request_id_keeps_its_answer_even_when_the_fields_are_fixed(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        bad = await engine.execute({"action": "open_window", "window": "1", "request_id": "b"})
        assert bad["error"]["code"] == "bad_request"
        fixed = await engine.execute({"action": "open_window", "window": 1, "request_id": "b"})
        assert fixed == bad
        assert engine.hall.state.window(1).status == "closed"


async def test_an_answer_without_events_is_kept_too(config: HallConfig, tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    report = {"action": "device_status", "device": "kp-1", "online": True}
    async with Running(config, path) as engine:
        await engine.execute({**report, "request_id": "p-1"})
        same = await engine.execute({**report, "request_id": "p-2"})  # no change: no event
        assert same["ok"] and same["result"]["changed"] is False
        await engine.execute({**report, "online": False, "request_id": "p-3"})
        # p-2 redelivered late (a retry): it must not bring the device back online
        assert await engine.execute({**report, "request_id": "p-2"}) == same
        assert engine.hall.state.devices["kp-1"]["online"] is False
    async with Running(config, path) as engine:
        assert await engine.execute({**report, "request_id": "p-2"}) == same
        assert engine.hall.state.devices["kp-1"]["online"] is False


async def test_read_only_requests_are_answered_fresh_each_time(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        first = await engine.execute({"action": "status", "request_id": "s"})
        await engine.execute({"action": "take_ticket", "service": "BDC"})
        second = await engine.execute({"action": "status", "request_id": "s"})
        assert first != second


async def test_a_caller_gone_before_its_batch_is_durable_still_has_its_answer_kept(
    config: HallConfig, tmp_path: Path
) -> None:
    """The writer keeps answers under their ids, not the caller: a caller cancelled while its
    events are being written (an MQTT client's timeout) must not leave its id unused, or the
    retry would issue a second ticket."""
    async with Running(config, tmp_path / "j.db") as engine:
        request = {"action": "take_ticket", "service": "BDC", "request_id": "gone-1"}
        caller = asyncio.create_task(engine.execute(request))
        await asyncio.sleep(0)  # its command is in the batch being gathered
        assert "gone-1" in engine._inflight
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        retry = await engine.execute(request)
        assert retry["ok"] and retry["result"]["ticket"] == "A001"
        assert await engine.execute(request) == retry
        assert len(engine.hall.state.tickets) == 1  # one ticket, whatever the retries


async def test_repeats_in_flight_wait_for_the_first_and_get_its_answer(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        request = {"action": "take_ticket", "service": "BDC", "request_id": "twice"}
        answers = await asyncio.gather(*(engine.execute(request) for _ in range(3)))
        assert answers[0]["ok"] and answers[1:] == [answers[0]] * 2
        assert len(engine.hall.state.tickets) == 1


async def test_the_kept_answer_after_a_restart_is_the_answer_given(
    config: HallConfig, tmp_path: Path
) -> None:
    """An answer that is its event's data is stored from the event's JSON text (encoded once);
    read back from the journal it is the same answer, by/via stamps and all."""
    path = tmp_path / "j.db"
    requests = [
        {"action": "take_ticket", "service": "BDC", "request_id": "t", "by": "s1", "via": "web"},
        {"action": "open_window", "window": 1, "request_id": "o"},
        {"action": "call_next", "window": 1, "request_id": "c", "source": "kp-1"},
    ]
    async with Running(config, path) as engine:
        given = [await engine.execute(r) for r in requests]
    assert given[0]["result"]["by"] == "s1" and given[0]["result"]["via"] == "web"
    async with Running(config, path) as engine:
        assert engine._recent == {}  # answers come from the journal now
        assert [await engine.execute(r) for r in requests] == given
