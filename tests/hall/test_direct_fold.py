"""The core folds its busiest events from the values it puts in them (state.fold_*); a replay
folds the same events from the journal's data (state.apply). Both reach the same state."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest

from hallctl.config import parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from tests.hall.conftest import SMALL_HALL, TZ

ACTIONS = ["call_next"] * 6 + ["recall", "finish", "start_service", "no_show", "suspend",
           "call_back", "request_evaluation", "close_window", "open_window", "pause_window",
           "resume_window"]  # fmt: skip


def _request(rng: random.Random) -> dict[str, Any]:
    r = rng.random()
    if r < 0.4:
        req: dict[str, Any] = {"action": "take_ticket", "service": rng.choice(["BDC", "SB", "ZH"])}
        if rng.random() < 0.15:
            req["channel"] = "green"
        if rng.random() < 0.2:
            req["id_hash"] = f"h{rng.randint(1, 30)}"
            req["id_masked"] = "1***1"
        return req
    if r < 0.48:
        return {"action": "evaluate", "window": rng.randint(1, 4), "level": rng.randint(1, 5),
                "reason": "x"}  # fmt: skip
    if r < 0.5:
        return {"action": "finish", "window": rng.randint(1, 4), "case_no": rng.choice(["", "C1"])}
    if r < 0.52:
        return {"action": "tick"}
    return {"action": rng.choice(ACTIONS), "window": rng.randint(1, 4)}


@pytest.mark.parametrize("seed", range(6))
def test_live_state_equals_a_replay_of_its_events(seed: int) -> None:
    rng = random.Random(seed)
    config = parse_config(SMALL_HALL)
    live = Hall(config)
    now = datetime(2026, 11, 25, 8, 55, tzinfo=TZ)  # GJJ issues from 09:00: refusals too
    log: list[tuple[str, dict[str, Any], float]] = []
    for w in (1, 2, 3, 4):
        out = live.execute(parse_command({"action": "open_window", "window": w}), now)
        log.extend((t, d, now.timestamp()) for t, d in out.events)
    for i in range(1500):
        now += timedelta(seconds=rng.choice([0, 0.25, 1, 7, 45]))
        if i == 900:
            now += timedelta(days=1)  # a day's start in the middle
        try:
            events = live.execute(parse_command(_request(rng)), now).events
        except HallError as err:
            events = err.events
        log.extend((t, d, now.timestamp()) for t, d in events)
    assert sum(t == "ticket.called" for t, _, _ in log) > 50
    replayed = Hall(config)
    for type_, data, at in log:
        replayed.apply(type_, data, at)
    # every field: tickets, lines, windows, samples, supervision, versions, the clock; but the
    # long-wait watch, which the tick trims as it looks (outside the fold, so a replay keeps
    # entries the live hall has let go: each is checked against its ticket when it comes up)
    for s in (live.state, replayed.state):
        s.wait_watch.clear()
        s.long_wait_left.clear()
    assert replayed.state == live.state
    # and the words a replay interns are the ones the live tickets hold
    for number, t in live.state.tickets.items():
        assert t.service is replayed.state.tickets[number].service
        assert t.channel is replayed.state.tickets[number].channel
