"""Alarms and 差评 cases are a fold of the journal: replaying the events gives what live had."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hallctl.config import parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from hallctl.hall.events import validate_event
from tests.hall.conftest import SMALL_HALL, TZ

CONFIG = parse_config(
    SMALL_HALL.replace("require_reason_for_bad: true", "require_reason_for_bad: false")
    + """
supervision:
  norms: {line_limit: 2, idle_with_waiting_min: 2, pause_limit_min: 3, service_limit_min: 4,
          gaming: {no_shows: 2, within_s: 30, span_min: 10}}
  follow_up: {working_days: 1}
"""
)
WINDOW_ACTIONS = ["open_window", "close_window", "pause_window", "resume_window", "call_next",
                  "no_show", "start_service", "finish", "request_evaluation"]  # fmt: skip

step = st.one_of(
    st.tuples(st.just("take_ticket"), st.sampled_from(["BDC", "SB", "ZH"])),
    st.tuples(st.sampled_from(WINDOW_ACTIONS), st.sampled_from([1, 2, 3])),
    st.tuples(st.just("evaluate"), st.sampled_from([1, 2, 3]), st.integers(1, 5)),
    st.tuples(st.just("evaluate"), st.sampled_from([1, 2, 3]), st.integers(1, 2)),
    st.tuples(st.just("later"), st.integers(1, 400)),
    st.tuples(st.just("later"), st.integers(400, 60 * 60 * 30)),
    st.tuples(st.just("ack"), st.integers(0, 5)),
    st.tuples(st.just("case"), st.integers(0, 3), st.booleans()),
)


def _request(hall: Hall, s: tuple[Any, ...]) -> dict[str, Any] | None:
    match s:
        case ("take_ticket", service):
            return {"action": "take_ticket", "service": service}
        case ("evaluate", window, level):
            return {"action": "evaluate", "window": window, "level": level}
        case ("ack", i):
            keys = sorted(hall.state.alarms)
            return {"action": "acknowledge_alarm", "alarm": keys[i % len(keys)], "by": "监察"} if (
                keys
            ) else None
        case ("case", i, close):
            open_ = sorted(hall.state.cases)
            if not open_:
                return None
            case = open_[i % len(open_)]
            followed = bool(hall.state.cases[case]["followed_up"])
            action = "close_case" if close and followed else "follow_up_case"
            return {"action": action, "case": case, "by": "科长", "note": "ok"}
        case (action, window):
            return {"action": action, "window": window}
    raise AssertionError(s)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=80))
def test_live_alarms_and_cases_equal_a_replay_of_the_journal(steps: list[tuple[Any, ...]]) -> None:
    live = Hall(CONFIG)
    now = datetime(2026, 2, 12, 9, 0, tzinfo=TZ)
    journal: list[tuple[str, dict[str, Any], float]] = []
    opening = [("open_window", w) for w in (1, 2, 3)] + [("take_ticket", "SB")] * 3
    for s in opening + steps:
        if s[0] == "later":
            now += timedelta(seconds=s[1])
            request: dict[str, Any] | None = {"action": "tick"}
        else:
            request = _request(live, s)
        if request is None:
            continue
        try:
            events = live.execute(parse_command(request), now).events
        except HallError as err:
            events = err.events
        for type_, data in events:
            validate_event(type_, data)
            journal.append((type_, data, now.timestamp()))
    replayed = Hall(CONFIG)
    for type_, data, at in journal:
        replayed.apply(type_, data, at)
    event(f"kinds: {sorted({d['kind'] for t, d, _ in journal if t == 'alarm.raised'})}")
    event(f"cases: {any(t == 'case.closed' for t, _, _ in journal)}")
    assert replayed.state.alarms == live.state.alarms
    assert replayed.state.cases == live.state.cases
    assert replayed.state.norms == live.state.norms
    # every raised alarm names its kind's scope and severity, and is cleared at most once
    raised = [d for t, d, _ in journal if t == "alarm.raised"]
    assert all(d.get("severity") in (None, "info", "warning", "critical") for d in raised)
