"""Evaluation (好差评): five levels, tied to the ticket, after service only, time-outs."""

from __future__ import annotations

from tests.hall.conftest import Driver


def served(hall: Driver) -> Driver:
    hall("open_window", window=1, staff="S1")
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    hall("start_service", window=1)
    return hall


def test_a_ticket_not_yet_served_cannot_be_evaluated(hall: Driver) -> None:
    hall("open_window", window=1)
    hall.fails("not_served", "evaluate", window=1, level=5)
    hall("take_ticket", service="BDC")
    hall.fails("not_served", "evaluate", ticket="A001", level=5)


def test_level_by_number_name_or_chinese_label(hall: Driver) -> None:
    served(hall)
    r = hall("evaluate", window=1, level="非常满意", case_no="BJ2026-001")
    assert (r["level"], r["level_name"], r["label_zh"], r["staff"]) == (
        5,
        "very_satisfied",
        "非常满意",
        "S1",
    )
    assert r["case_no"] == "BJ2026-001"
    hall.fails("already_evaluated", "evaluate", ticket="A001", level=4)


def test_bad_review_needs_a_reason_when_configured_and_raises_an_alarm(hall: Driver) -> None:
    served(hall)
    hall.fails("reason_required", "evaluate", window=1, level=2)
    hall("evaluate", window=1, level=2, reason="等候时间太长")
    raised = [d for t, d in hall.events if t == "alarm.raised"]
    assert raised[-1]["kind"] == "bad_review" and raised[-1]["ticket"] == "A001"


def test_finished_ticket_can_still_be_evaluated_then_times_out(hall: Driver) -> None:
    served(hall)
    hall("finish", window=1)
    hall("evaluate", window=1, level=4)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    hall("finish", window=1)
    hall.later(seconds=30)
    hall("tick")
    assert hall.types()[-1] != "evaluation.recorded"
    hall.later(seconds=31)
    hall("tick")
    last = hall.events[-1]
    assert last[0] == "evaluation.recorded" and last[1]["evaluated"] is False
    assert last[1]["ticket"] == "A002" and last[1]["level"] is None


def test_bad_level_is_a_clear_error(hall: Driver) -> None:
    served(hall)
    err = hall.fails("bad_request", "evaluate", window=1, level=7)
    assert "level" in err.message


def test_long_wait_raises_then_clears_an_alarm(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall.later(minutes=31)
    hall("tick")
    raised = [d for t, d in hall.events if t == "alarm.raised" and d["kind"] == "long_wait"]
    assert [d["alarm"] for d in raised] == ["long_wait:A001"]
    hall("tick")
    assert sum(1 for t, d in hall.events if t == "alarm.raised" and d["kind"] == "long_wait") == 1
    hall("call_next", window=1)
    hall("tick")
    assert ("alarm.cleared", {"alarm": "long_wait:A001", "kind": "long_wait"}) in hall.events
