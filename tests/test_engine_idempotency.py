"""A repeated request id returns its first answer and changes nothing: errors included.

Before, only answers that produced events were kept: a request id first refused (queue empty,
a bad field) or answered without events ran again when repeated, and could then change the
hall. Answers are kept in the journal, so this holds across a restart too.
"""

from __future__ import annotations

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
