"""Counts add up for any command sequence: issued = served + no-show + open, in every group."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hallctl.supervision.facts import fold_day
from hallctl.supervision.report import Scope, compute
from tests.hall.conftest import TZ
from tests.supervision_support import Recorder
from tests.test_supervision_kpi import CONFIG

ACTIONS = ["open_window", "close_window", "pause_window", "resume_window", "call_next",
           "recall", "no_show", "start_service", "finish", "suspend", "call_back",
           "request_evaluation"]  # fmt: skip
step = st.one_of(
    st.tuples(st.just("take_ticket"), st.sampled_from(["BDC", "SB", "ZH", "GJJ"])),
    st.tuples(st.sampled_from(ACTIONS), st.sampled_from([1, 2, 3, 4])),
    st.tuples(st.just("transfer"), st.sampled_from([1, 2, 3]), st.sampled_from(["BDC", "SB"])),
    st.tuples(st.just("evaluate"), st.sampled_from([1, 2, 3]), st.integers(1, 5)),
    st.tuples(st.just("rejoin"), st.integers(1, 5)),
    st.tuples(st.just("later"), st.integers(1, 900)),
)


def _run(steps: list[tuple[Any, ...]]) -> Recorder:
    r = Recorder(CONFIG)
    now = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
    r.at(now, "staff_check_in", staff="S1")
    for s in [("open_window", 1), ("open_window", 3), *steps]:
        match s:
            case ("later", seconds):
                now += timedelta(seconds=seconds)
                r.at(now, "tick")
            case ("take_ticket", service):
                r.at(now, "take_ticket", service=service)
            case ("transfer", window, service):
                r.at(now, "transfer", window=window, service=service)
            case ("evaluate", window, level):
                r.at(now, "evaluate", window=window, level=level, reason="r")
            case ("rejoin", n):
                r.at(now, "rejoin", ticket=f"B{n:03d}")
            case (action, window):
                r.at(now, action, window=window)
    return r


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=80))
def test_counts_add_up_in_every_group(steps: list[tuple[Any, ...]]) -> None:
    rec = _run(steps)
    days = [fold_day(d, TZ, rec.day_records(d)) for d in sorted({x[0] for x in rec.records})]
    first = date.fromisoformat(days[0].day)
    report = compute(CONFIG, days, [], "month", first, first, Scope(), datetime.now(TZ))
    hall = report.table("summary").rows[0]
    issued = sum(1 for _, t, _, _ in rec.records if t == "ticket.issued")
    assert hall["issued"] == issued
    for row in [hall, *report.table("by_service").rows]:
        assert row["issued"] == row["served"] + row["no_show"] + row["open"]
        assert row["open"] >= 0 and row["served"] <= row["called"] <= row["issued"]
        assert row["served"] == row["evaluated"] + row["timed_out"] + row["not_evaluated"]
        assert row["evaluated"] == sum(row[f"level_{i}"] for i in range(1, 6))
    for key in ("issued", "served", "no_show", "open", "evaluated", "transferred"):
        assert hall[key] == sum(r[key] for r in report.table("by_service").rows)
    assert hall["called"] == sum(r["called"] for r in report.table("by_window").rows)
    assert hall["issued"] == sum(r["issued"] for r in report.table("by_hour").rows)
    assert hall["served"] == sum(r["served"] for r in report.table("by_hour").rows)
    for w in report.table("by_window").rows:
        assert w["busy_h"] + w["idle_h"] + w["paused_h"] == pytest.approx(w["open_h"])
    finished = {json.loads(d)["ticket"] for _, t, _, d in rec.records if t == "ticket.finished"}
    assert hall["served"] == len(finished)
