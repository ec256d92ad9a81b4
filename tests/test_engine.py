"""The engine: durable before acknowledged, idempotent by request id, rebuilt from the journal."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from tests.hall.conftest import SMALL_HALL, TZ
from tests.serial_support import eventually


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 30, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config() -> HallConfig:
    return parse_config(SMALL_HALL)


class Running:
    """An engine with its writer task, on a real journal file."""

    def __init__(self, config: HallConfig, path: Path, **kw: object) -> None:
        self.journal = Journal(path)
        self.engine = HallEngine(config, self.journal, secret=b"k" * 32, clock=Clock(), **kw)  # type: ignore[arg-type]
        self.engine.recover()

    async def __aenter__(self) -> HallEngine:
        self.task = asyncio.create_task(self.engine.run())
        return self.engine

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        self.journal.close()


async def test_an_acknowledged_ticket_is_already_in_the_journal(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        r = await engine.execute({"action": "take_ticket", "service": "BDC"})
        assert r["ok"] and r["result"]["ticket"] == "A001"
        with Journal(tmp_path / "j.db") as other:  # a second reader sees it without any flush
            assert [x.type for x in other.replay()] == ["day.started", "ticket.issued"]


async def test_a_bad_request_gets_an_error_and_changes_nothing(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        await engine.execute({"action": "take_ticket", "service": "BDC"})
        seq = engine.last_seq()
        for bad in (
            {"action": "fly"},
            {"action": "call_next", "window": "five"},
            {"action": "call_next", "window": 99},
            {"action": "take_ticket", "service": "BDC", "extra": 1},
            ["not", "an", "object"],
        ):
            r = await engine.execute(bad)  # type: ignore[arg-type]
            assert r["ok"] is False and r["error"]["code"] in {
                "unknown_action",
                "bad_request",
                "unknown_window",
            }
            assert r["error"]["message"] and r["error"]["message_zh"]
        assert engine.last_seq() == seq


async def test_a_repeated_request_id_returns_the_first_answer_even_after_restart(
    config: HallConfig, tmp_path: Path
) -> None:
    req = {"action": "take_ticket", "service": "BDC", "request_id": "kiosk-1:42"}
    async with Running(config, tmp_path / "j.db") as engine:
        first = await engine.execute(req)
        again = await engine.execute(req)
        assert again == first
        both = await asyncio.gather(*(engine.execute(dict(req)) for _ in range(5)))
        assert all(b == first for b in both)
    async with Running(config, tmp_path / "j.db") as engine:
        assert await engine.execute(req) == first
        assert (await engine.execute({"action": "take_ticket", "service": "BDC"}))["result"][
            "ticket"
        ] == "A002"


async def test_concurrent_commands_are_group_committed_in_order(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        results = await asyncio.gather(
            *(engine.execute({"action": "take_ticket", "service": "SB"}) for _ in range(300))
        )
        numbers = [r["result"]["ticket"] for r in results]
        assert numbers == [f"B{i:03d}" for i in range(1, 301)]
        seqs = [r.seq for r in engine.journal.replay()]
        assert seqs == list(range(1, len(seqs) + 1))


async def test_restart_rebuilds_the_same_state_with_and_without_snapshots(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db", snapshot_every=7) as engine:
        await engine.execute({"action": "open_window", "window": 2})
        for _ in range(10):
            await engine.execute({"action": "take_ticket", "service": "BDC"})
        for _ in range(4):
            await engine.execute({"action": "call_next", "window": 2})
        await engine.execute({"action": "suspend", "window": 2})
        before = engine.retained_state()
        # made aside by an idle-priority process: on a busy machine it waits for a free core
        await eventually(lambda: engine.journal.load_snapshot() is not None, within=60)
    async with Running(config, tmp_path / "j.db") as engine:
        assert engine.retained_state() == before
        r = await engine.execute({"action": "take_ticket", "service": "BDC"})
        assert r["result"]["ticket"] == "A011"  # never reused after a restart


async def test_subscribers_get_durable_records_in_order(config: HallConfig, tmp_path: Path) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        sub = engine.subscribe()
        await engine.execute({"action": "open_window", "window": 1})
        await engine.execute({"action": "take_ticket", "service": "BDC"})
        await engine.execute({"action": "call_next", "window": 1})
        got = [await asyncio.wait_for(sub.__anext__(), 1) for _ in range(4)]
        assert [r.type for r in got] == [
            "day.started",
            "window.opened",
            "ticket.issued",
            "ticket.called",
        ]
        assert [r.seq for r in got] == list(range(got[0].seq, got[0].seq + 4))
        sub.close()


async def test_id_numbers_are_hashed_and_masked_before_the_journal(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        r = await engine.execute(
            {"action": "take_ticket", "service": "GJJ", "id_value": "110101199003071234"}
        )
        assert r["result"]["id_masked"] == "110***********1234"
        dup = await engine.execute(
            {"action": "take_ticket", "service": "GJJ", "id_value": "110101199003071234"}
        )
        assert dup["error"]["code"] == "already_has_ticket"
    raw = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("j.db*")))  # noqa: ASYNC240
    assert b"110101199003071234" not in raw and b"110***********1234" in raw


async def test_wait_beyond_wakes_on_new_records(config: HallConfig, tmp_path: Path) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        waiter = asyncio.create_task(engine.wait_beyond(engine.last_seq()))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        await engine.execute({"action": "take_ticket", "service": "BDC"})
        assert await asyncio.wait_for(waiter, 1) >= 2


async def test_a_retry_after_restart_is_recognised_and_new_ids_skip_the_journal(
    config: HallConfig, tmp_path: Path
) -> None:
    req = {"action": "take_ticket", "service": "SB", "request_id": "k:1"}
    async with Running(config, tmp_path / "j.db") as engine:
        first = await engine.execute(req)
    async with Running(config, tmp_path / "j.db") as engine:
        assert engine._stored == {"k:1"}
        assert await engine.execute(req) == first
        fresh = await engine.execute({**req, "request_id": "k:2"})
        assert fresh["result"]["ticket"] == "B002"


async def test_a_refused_command_waits_for_the_batch_being_written_and_no_longer(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        await engine.execute({"action": "open_window", "window": 2})
        stop = False

        async def steady_load() -> int:
            done = 0
            while not stop:
                r = await engine.execute({"action": "take_ticket", "service": "SB"})
                assert r["ok"]  # a refusal would not wait for the writer: a busy loop
                done += 1
            return done

        load = [asyncio.create_task(steady_load()) for _ in range(5)]
        await asyncio.sleep(0.05)  # a batch is always gathering from now on
        refused = await engine.execute({"action": "call_next", "window": 99})
        assert refused["error"]["code"] == "unknown_window"
        assert not any(t.done() for t in load)  # answered under load, not after it
        # and it came only after the events it may rest on were durable
        assert engine.journal.last_seq() >= engine.last_seq() > 0
        stop = True
        assert sum(await asyncio.gather(*load)) > 0
