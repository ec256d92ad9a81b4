"""A kept forecast's refresh made a step at a time (hall/eta_steps.py, docs/eta.md).

- Made in steps, a run says to the bit what the same run made in one go says; and while the
  hall moves on between its steps (tickets, calls, finishes: new service-time samples), what a
  run made in one go at its start would have said.
- A step does at most ``STEP_UNITS`` windows' or calls' work, counted where the work is done.
- With an edge that makes refreshes, a command that finds the forecast out of its time answers
  from it and asks; the new forecast, once kept, knows the tickets issued meanwhile as if it had
  been kept all along. An event it could not foresee drops the refresh; an edge that stops
  stepping is noticed after ``GRACE_S``.
"""

from __future__ import annotations

import contextlib
import gc
import random
from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any

import pytest

from hallctl.config import parse_config
from hallctl.hall import eta
from hallctl.hall.errors import HallError
from hallctl.hall.eta import BASE_UNITS, STEP_UNITS, Refresh
from hallctl.hall.eta_cache import REFRESH_S
from hallctl.hall.eta_steps import GRACE_S, SteppedRefresh, drain
from hallctl.hall.service_times import Residual, ServiceTime
from tests.hall.conftest import TZ, Driver

START = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
SERVICES = 6
WINDOWS = 40


def big_hall() -> str:
    """Six services, forty windows each serving two (the bench's hall, smaller)."""
    services = "\n".join(
        f"  - {{code: S{i}, name: 业务{i}, prefix: {'ABCDEF'[i]}, digits: 4, "
        f"avg_service_min: {2 + i}, daily_cap: 9999}}"
        for i in range(SERVICES)
    )
    windows = "\n".join(
        f"  - {{number: {n}, services: [S{n % SERVICES}, S{(n + 1) % SERVICES}]}}"
        for n in range(1, WINDOWS + 1)
    )
    return (
        "version: 1\nhall: {id: eta-steps, name: 测试大厅, timezone: Asia/Shanghai}\n"
        f"services:\n{services}\nwindows:\n{windows}\n"
    )


def busy(seed: int, rounds: int = 1500) -> Driver:
    d = Driver(parse_config(big_hall()), START)
    for n in range(1, WINDOWS + 1):
        d("open_window", window=n)
    play(d, random.Random(seed), rounds)
    return d


def play(d: Driver, rng: random.Random, rounds: int) -> None:
    """Tickets, calls and finishes only: every event a kept forecast foresees."""
    for _ in range(rounds):
        d.later(seconds=rng.uniform(0.5, 6))
        if rng.random() < 0.4:
            d("take_ticket", service=f"S{rng.randrange(SERVICES)}")
            continue
        n = rng.randint(1, WINDOWS)
        if d.hall.state.windows[n].current is None:
            with contextlib.suppress(HallError):  # nobody waits for this window
                d("call_next", window=n)
        else:
            d("finish", window=n)


def one_go(d: Driver) -> Refresh:
    run, codes = d.hall.eta.refresh_run(d.now.timestamp())
    got = drain(run.refresh_steps(codes))
    run.close()
    return got


def in_steps(d: Driver, between: Any = None) -> tuple[Refresh, SteppedRefresh, int]:
    making = SteppedRefresh(d.hall.eta, d.now.timestamp())
    steps = 0
    while (got := making.step()) is None:
        steps += 1
        if between is not None:
            between()
    return got, making, steps


def test_a_run_made_in_steps_says_to_the_bit_what_one_made_in_one_go_says() -> None:
    for seed in range(3):
        d = busy(seed)
        assert sum(w.current is not None for w in d.hall.state.windows.values()) > STEP_UNITS
        got, making, steps = in_steps(d)
        assert got == one_go(d)
        assert steps > 4 and making.run.most_units <= STEP_UNITS


def test_a_run_made_in_steps_while_the_hall_moves_on_says_what_it_would_have_said_at_its_start(
) -> None:
    for seed in range(3):
        rng = random.Random(100 + seed)
        before = busy(seed)
        expected = one_go(before)  # in one go, and the hall stops here
        d = busy(seed)
        samples = d.hall.state.samples_seen
        got, making, _ = in_steps(d, between=lambda: play(d, rng, 8))  # noqa: B023
        assert d.hall.state.samples_seen > samples + 10  # finishes came meanwhile
        assert making.run.pin is not None and making.run.pin.times  # answered from the pin
        assert got == expected


def test_a_step_does_at_most_step_units_windows_or_calls_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the work a step does, counted where it is done: a busy window's time left, its
    # distribution, its slice, its factor in a first finish; a call of the policy; a service's
    # summary of its history (BASE_UNITS)
    work = [0]
    real_of = ServiceTime.of

    def of(*args: Any, **kwargs: Any) -> ServiceTime:
        work[0] += BASE_UNITS
        return real_of(*args, **kwargs)

    monkeypatch.setattr(ServiceTime, "of", of)

    def counted(name: str) -> None:
        real = getattr(ServiceTime, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            work[0] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(ServiceTime, name, wrapper)

    for name in ("remaining", "residual", "remaining_slice"):
        counted(name)
    real_choose, real_ff = eta.choose, eta.first_finish_steps

    def choose(*args: Any) -> Any:
        work[0] += 1
        return real_choose(*args)

    def first_finish_steps(
        busy: Sequence[Residual], points: int = 48
    ) -> Generator[None, None, float]:
        steps = real_ff(busy, points)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            work[0] += 1
            yield

    monkeypatch.setattr(eta, "choose", choose)
    monkeypatch.setattr(eta, "first_finish_steps", first_finish_steps)
    d = busy(4)
    d.hall.eta.times.clear()  # every summary to be made again
    making = SteppedRefresh(d.hall.eta, d.now.timestamp())
    per_step = []
    while True:
        work[0] = 0
        done = making.step() is not None
        per_step.append(work[0])
        if done:
            break
    assert sum(per_step) > 8 * STEP_UNITS  # the run in one go would be this much
    assert max(per_step) <= STEP_UNITS
    assert per_step.count(2 * BASE_UNITS) >= SERVICES // 2 - 1  # two summaries a step


def edge(d: Driver) -> list[int]:
    """An edge that makes refreshes in steps (the test steps it): it counts the asks."""
    asked = [0]

    def wake() -> None:
        asked[0] += 1

    d.hall.eta.wake = wake
    return asked


def test_a_stale_forecast_answers_until_its_refresh_is_made_and_the_new_one_knows_the_tickets_issued_meanwhile(  # noqa: E501
) -> None:
    a, b = busy(7), busy(7)  # the same hall: a with an edge, b without
    asked = edge(a)
    est = a.hall.eta
    old = est._kept.made_at
    for d in (a, b):
        d.later(seconds=REFRESH_S + 1)
    at = a.now.timestamp()
    runs = est.runs
    est.services_min(at)  # out of its time: answered from it, a refresh asked for
    assert asked == [1] and est.runs == runs and est._kept.made_at == old
    b.hall.eta._refreshed(b.hall.eta._kept, at)  # b: the same run, in one go, at the same time
    rng = random.Random(3)
    printed_a: dict[str, float] = {}
    printed_b: dict[str, float] = {}

    def ticket() -> None:
        service = f"S{rng.randrange(SERVICES)}"
        for d, printed in ((a, printed_a), (b, printed_b)):
            t = d("take_ticket", service=service)
            printed[t["ticket"]] = t["est_wait_min"]

    assert est.refresh_step(at)  # the first step takes the inputs
    steps = 1
    while est.refresh_step(a.now.timestamp()):
        steps += 1
        ticket()
    assert steps > 4 and est.runs == runs + 1 and asked == [1]
    assert est._kept.made_at == at and est.making is None
    # a's tickets issued meanwhile were told the old forecast; the new one knows them as b's does
    assert printed_a.keys() == printed_b.keys() and printed_a != printed_b
    kept_a, kept_b = est._kept, b.hall.eta._kept
    assert (kept_a.new, kept_a.slot, kept_a.since) == (kept_b.new, kept_b.slot, kept_b.since)
    assert kept_a.orders == kept_b.orders and kept_a.placed == kept_b.placed
    now = a.now.timestamp()
    for number in printed_a:
        assert est.ticket_min(number, now) == b.hall.eta.ticket_min(number, now)
    for _ in range(20):  # and the next tickets are told the same
        ticket()
    later = list(printed_a)[-20:]
    assert [printed_a[n] for n in later] == [printed_b[n] for n in later]


def test_an_event_the_forecast_cannot_foresee_drops_the_refresh_being_made() -> None:
    d = busy(8)
    edge(d)
    est = d.hall.eta
    d.later(seconds=REFRESH_S + 1)
    est.services_min(d.now.timestamp())
    assert est.refresh_step(d.now.timestamp()) and est.making is not None
    d("pause_window", window=3)
    assert est.making is None
    runs = est.runs
    d("take_ticket", service="S1")  # the kept forecast is stale by the pause: a run in one go
    assert est.runs == runs + 1 and not est.refresh_step(d.now.timestamp())


def test_an_edge_that_stops_stepping_is_noticed_after_the_grace() -> None:
    d = busy(9)
    asked = edge(d)
    est = d.hall.eta
    d.later(seconds=REFRESH_S + 1)
    runs = est.runs
    d("take_ticket", service="S2")
    assert est.runs == runs and asked == [1]
    d.later(seconds=GRACE_S)
    d("take_ticket", service="S2")  # nobody made the refresh: the command makes its own
    assert est.runs == runs + 1 and est.making is None


def test_a_refresh_made_in_steps_leaves_no_cyclic_garbage() -> None:
    # thousands of refreshes a busy day: each freed by reference counting when it is kept or
    # dropped, none left for the collector's passes on the loop
    d = busy(10, rounds=300)
    edge(d)
    est = d.hall.eta
    rng = random.Random(4)
    gc.collect()
    gc.disable()
    try:
        for k in range(30):
            d.later(seconds=REFRESH_S + 1)
            d("take_ticket", service="S1")  # asks for a refresh
            while est.refresh_step(d.now.timestamp()):
                if k % 3 == 0:
                    play(d, rng, 2)
            if k % 5 == 0:
                d("take_ticket", service="S3")
                est.services_min(d.now.timestamp() + REFRESH_S + 1)
                est.refresh_step(d.now.timestamp())
                d("pause_window", window=k + 1)  # drops the refresh just started
                assert est.making is None
        assert gc.collect() == 0
    finally:
        gc.enable()
