"""Today's counts on the console move by the records and always equal a count of the state."""

from __future__ import annotations

import json
import random
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.config import parse_config
from hallctl.journal import Record
from hallctl.web.day_counts import DayCounts
from tests.hall.conftest import SMALL_HALL, TZ, Driver

ACTIONS = ["take", "call", "start", "finish", "no_show", "rejoin", "later"]


def records(events: list[tuple[str, dict[str, object]]]) -> list[Record]:
    return [Record(seq=i, id=str(i), type=t, ts="", day="", request_id=None, v=1,
                   data=json.dumps(d)) for i, (t, d) in enumerate(events, 1)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(ACTIONS), min_size=5, max_size=80), st.integers(0, 2**16))
def test_folding_the_records_counts_what_the_state_holds(steps: list[str], seed: int) -> None:
    hall = Driver(parse_config(SMALL_HALL), datetime(2026, 11, 25, 9, 30, tzinfo=TZ))
    rng = random.Random(seed)
    hall("open_window", window=1)
    hall("open_window", window=2)
    for step in steps:
        window = rng.choice([1, 2])
        try:
            if step == "take":
                hall("take_ticket", service=rng.choice(["BDC", "SB"]))
            elif step == "call":
                hall("call_next", window=window)
            elif step == "start":
                hall("start_service", window=window)
            elif step == "finish":
                hall("finish", window=window)
            elif step == "no_show":
                hall("no_show", window=window)
            elif step == "rejoin":
                gone = [t.number for t in hall.hall.state.tickets.values() if t.state == "no_show"]
                if gone:
                    hall("rejoin", ticket=rng.choice(gone))
            else:
                hall.later(seconds=rng.randint(10, 600))
        except Exception as e:  # a refused step changes nothing; that is the core's promise
            assert type(e).__name__ == "HallError"
    folded = DayCounts()
    folded.fold(records(hall.events))
    counted = DayCounts.from_state(hall.hall.state)
    for n in (1, 2):
        a, b = folded.window(n).view(), counted.window(n).view()
        assert a["served"] == b["served"] and a["no_show"] == b["no_show"]
        if a["mean_wait_min"] is not None:
            assert abs(a["mean_wait_min"] - b["mean_wait_min"]) <= 0.1
    for code in ("BDC", "SB"):
        assert folded.service(code).served == counted.service(code).served
        assert folded.service(code).no_show == counted.service(code).no_show
