"""The door's share of a loop pass: a batch that wakes hundreds of waiters does not run all
their next commands in one pass; they wait in line, first come first run, and every answer is
what it would have been.

A pass's budget is wall time, so these tests set it to nothing (``pass_budget=0``): then a
pass runs exactly one command, whatever the machine's speed, and the line's order is all that
decides who runs when.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.hall.core import Hall
from hallctl.journal import Journal
from hallctl.pass_budget import PassBudget
from tests.hall.conftest import SMALL_HALL
from tests.test_engine import Clock

CLIENTS = 300
TAKE = {"action": "take_ticket", "service": "SB"}  # SB: no daily cap


@pytest.fixture
def config() -> HallConfig:
    return parse_config(SMALL_HALL)


class StandIn:
    """An object with some of its methods replaced. The core is compiled (mypyc): its objects
    take no attribute of their own, so a spy wraps the object the engine is handed instead."""

    def __init__(self, target: object, **methods: object) -> None:
        self.__dict__.update(methods, _target=target)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._target, name, value)  # e.g. the forecast's `wake`: the real one's


class Passes:
    """Counts the loop's passes (a callback that schedules itself again: once a pass) and
    notes in which pass each command reached the hall core."""

    def __init__(self) -> None:
        self.now = 0
        self.commands: list[int] = []  # the pass of each core call, in call order
        self._on = True

    def start(self) -> None:
        self._on = True
        asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._on = False

    def _tick(self) -> None:
        self.now += 1
        if self._on:
            asyncio.get_running_loop().call_soon(self._tick)

    def spy(self, hall: Hall) -> Hall:
        """The hall to hand the engine: the real core still runs every command; this notes
        only when."""
        run: Callable[..., Any] = hall.execute

        def execute(*args: Any, **kwargs: Any) -> Any:
            self.commands.append(self.now)
            return run(*args, **kwargs)

        return StandIn(hall, execute=execute)  # type: ignore[return-value]

    def most_in_one(self, since: int = 0) -> int:
        return max(Counter(self.commands[since:]).values())


def engine_on(config: HallConfig, journal: Journal, budget: float) -> HallEngine:
    engine = HallEngine(config, journal, secret=b"k" * 32, clock=Clock(), pass_budget=budget)
    engine.recover()
    return engine


async def within_passes(predicate: Callable[[], bool], passes: int = 1000) -> None:
    """Let the loop run until ``predicate`` holds; fail (not hang) if it never does."""
    for _ in range(passes):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"not within {passes} loop passes")


async def woken_together(
    engine: HallEngine, client: Callable[[int], Any], clients: int = CLIENTS
) -> tuple[list[Any], asyncio.Task[None]]:
    """Start ``clients`` clients with the writer held back, so that their first commands all
    wait on one batch; then start the writer: that batch wakes them all in one pass. Returns
    their results and the writer's task."""
    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    await within_passes(  # all first commands in the batch (+ the day.started)
        lambda: engine._batch is not None and len(engine._batch.events) == clients + 1,
        passes=10 * clients,
    )
    assert not any(t.done() for t in tasks), "answered before its batch was durable"
    writer = asyncio.create_task(engine.run())
    return await asyncio.gather(*tasks), writer


async def stopped(writer: asyncio.Task[None]) -> None:
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer


async def test_a_batch_waking_300_clients_runs_their_next_commands_one_budget_a_pass(
    config: HallConfig, journal: Journal
) -> None:
    engine = engine_on(config, journal, budget=0)
    passes = Passes()
    engine.hall = passes.spy(engine.hall)
    passes.start()

    async def client(i: int) -> list[str]:
        return [(await engine.execute(TAKE))["result"]["ticket"] for _ in range(3)]

    tickets, writer = await woken_together(engine, client)
    passes.stop()
    await stopped(writer)

    # No pass ran more than its budget's worth: with no budget, one command.
    assert len(passes.commands) == 3 * CLIENTS
    assert passes.most_in_one() == 1
    # Every answer right, each client's in the order it asked, and the line first come first
    # run: client i was i-th in each round (its first ticket joined the batch i-th, and the
    # batch woke its waiters in that order).
    assert tickets == [[f"B{i + 1:03}", f"B{301 + i:03}", f"B{601 + i:03}"] for i in range(CLIENTS)]
    issued = [r for r in journal.replay() if r.type == "ticket.issued"]
    assert [json.loads(r.data)["ticket"] for r in issued] == [f"B{n:03}" for n in range(1, 901)]


async def test_with_an_unbounded_budget_the_same_wake_runs_in_one_pass(
    config: HallConfig, journal: Journal
) -> None:
    # What the budget changes: without it the batch's 300 waiters' next commands all run in
    # the pass that wakes them (the long stalls of issue 15).
    engine = engine_on(config, journal, budget=math.inf)
    passes = Passes()
    engine.hall = passes.spy(engine.hall)
    passes.start()

    async def client(i: int) -> list[str]:
        return [(await engine.execute(TAKE))["result"]["ticket"] for _ in range(2)]

    tickets, writer = await woken_together(engine, client)
    passes.stop()
    await stopped(writer)
    assert passes.most_in_one(since=CLIENTS) == CLIENTS
    assert tickets == [[f"B{i + 1:03}", f"B{301 + i:03}"] for i in range(CLIENTS)]


async def test_a_command_that_arrives_while_others_wait_goes_behind_them(
    config: HallConfig, journal: Journal
) -> None:
    # First come, first run: the line is never jumped, even in a pass with budget to spare.
    engine = engine_on(config, journal, budget=0)
    async with asyncio.TaskGroup() as tg:
        writer = asyncio.create_task(engine.run())
        first = [tg.create_task(engine.execute(TAKE)) for _ in range(50)]
        await within_passes(lambda: engine.budget.waiting == 49)
        for _ in range(3):  # a few of them have run by now
            await asyncio.sleep(0)
        assert 0 < engine.budget.waiting < 49
        late = tg.create_task(engine.execute(TAKE))
    assert [t.result()["result"]["ticket"] for t in first] == [f"B{n:03}" for n in range(1, 51)]
    assert late.result()["result"]["ticket"] == "B051"
    await stopped(writer)


async def test_a_client_s_pipelined_requests_are_answered_as_if_one_after_the_other(
    config: HallConfig, journal: Journal
) -> None:
    # A client that sends a ticket, a read and a repeat of its request id without waiting for
    # the answers, behind a long line: the read sees the ticket, the repeat gets the first
    # answer and issues nothing.
    engine = engine_on(config, journal, budget=0)
    writer = asyncio.create_task(engine.run())
    others = [asyncio.create_task(engine.execute(TAKE)) for _ in range(100)]
    mine = {**TAKE, "request_id": "kiosk-7/1"}
    take, status, repeat = await asyncio.gather(
        engine.execute(mine),
        engine.execute({"action": "status"}),
        engine.execute(mine),
    )
    await asyncio.gather(*others)
    assert take["result"]["ticket"] == "B101"
    assert status["result"]["tickets_today"] == 101  # the ticket just before it is counted
    assert repeat == take
    issued = [r for r in journal.replay() if r.type == "ticket.issued"]
    assert len(issued) == 101
    assert [r.request_id for r in issued].count("kiosk-7/1") == 1
    await stopped(writer)


async def test_a_command_cancelled_while_in_line_never_runs_and_the_line_goes_on(
    config: HallConfig, journal: Journal
) -> None:
    engine = engine_on(config, journal, budget=0)
    writer = asyncio.create_task(engine.run())
    tasks = [asyncio.create_task(engine.execute(TAKE)) for _ in range(20)]
    await within_passes(lambda: engine.budget.waiting == 19)
    tasks[10].cancel()  # its client went away while it waited for a pass
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[10], asyncio.CancelledError)
    got = [r["result"]["ticket"] for i, r in enumerate(done) if i != 10]  # type: ignore[index]
    assert got == [f"B{n:03}" for n in range(1, 20)]  # nothing skipped: B011 went to the next
    assert engine.budget.waiting == 0
    assert sum(r.type == "ticket.issued" for r in journal.replay()) == 19
    await stopped(writer)


def test_a_budget_opened_on_a_loop_that_ended_mid_pass_does_not_hold_the_next_loop() -> None:
    # A loop stopped right after a command ran never gets to end that pass for the budget;
    # an engine used on a later loop must still take commands.
    budget = PassBudget(0)

    async def admitted() -> bool:
        return budget.admit()

    loop = asyncio.new_event_loop()
    try:
        first = loop.create_task(admitted())
        loop.call_soon(loop.stop)
        loop.run_forever()  # one pass: the budget opened, and that pass never ends for it
    finally:
        loop.close()
    assert first.result() is True
    assert asyncio.run(admitted()) is True


async def test_a_forecast_refresh_is_never_put_off_by_the_line_and_counts_in_the_budget(
    config: HallConfig, journal: Journal
) -> None:
    # A refresh step is the door's work too, but it never waits in line: a refresh put off
    # while commands keep coming gets dropped (an unforeseen event) and, past its grace, made
    # in one go by a command. So with no budget and a long line: one step every pass, and a
    # step that opens a pass leaves no command after it in that pass.
    clock = Clock()
    engine = HallEngine(config, journal, secret=b"k" * 32, clock=clock, pass_budget=0)
    engine.recover()
    passes = Passes()
    engine.hall = passes.spy(engine.hall)
    hall = engine.hall
    est = hall.eta
    order: list[tuple[int, str]] = []  # (pass, what), in the order they ran

    def noted(at: float) -> bool:
        order.append((passes.now, "step"))
        return est.refresh_step(at)

    def command(*args: Any, **kwargs: Any) -> Any:
        order.append((passes.now, "command"))
        return hall.execute(*args, **kwargs)

    # the forecast refresh reaches the forecast through the engine's hall, as the door does
    engine.hall = StandIn(  # type: ignore[assignment]
        hall, execute=command, eta=StandIn(est, refresh_step=noted)
    )
    writer = asyncio.create_task(engine.run())
    passes.start()
    for n in (1, 2, 3):
        await engine.execute({"action": "open_window", "window": n})
    await engine.execute(TAKE)  # the first forecast, made in one go: none is kept yet
    runs = est.runs
    clock.now += timedelta(seconds=60)  # the kept forecast is out of its time
    await asyncio.gather(*(engine.execute(TAKE) for _ in range(200)))
    await within_passes(lambda: est.making is None and est.runs > runs, passes=10_000)
    passes.stop()
    await stopped(writer)
    steps = [p for p, what in order if what == "step"]
    assert len(steps) >= 2, "no refresh was made in steps"
    assert steps == list(range(steps[0], steps[0] + len(steps)))  # one a pass, none put off
    assert est.runs == runs + 1  # made by the steps, not in one go by a command
    for p in set(steps):
        in_pass = [what for q, what in order if q == p]
        assert "command" not in in_pass[in_pass.index("step"):]
