"""Rules an operator meets on the first day, in the core so that every surface gets them:
one person at one window, nothing done silently, errors that say what would be valid."""

from __future__ import annotations

from datetime import datetime

from tests.hall.conftest import TZ, Driver


def test_one_staff_member_is_not_put_on_two_windows(hall: Driver) -> None:
    hall("open_window", window=1, staff="S1")
    err = hall.fails("staff_busy", "open_window", window=2, staff="S1")
    assert "window 1" in err.message and "王芳" in err.message
    assert err.message_zh == "该工作人员已在其他窗口"
    hall("open_window", window=2, staff="S2")
    hall.fails("staff_busy", "assign_staff", window=2, staff="S1")
    # once window 1 is closed, S1 may serve elsewhere
    hall("close_window", window=1)
    hall("assign_staff", window=2, staff="S1")


def test_closing_with_a_ticket_in_hand_says_it_was_finished(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    result = hall("close_window", window=1)
    assert result == {"window": 1, "status": "closed", "finished": "A001"}
    hall("open_window", window=1)
    assert "finished" not in hall("close_window", window=1)


def test_evaluating_a_ticket_only_called_says_service_started(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    assert hall("evaluate", window=1, level=5)["started_service"] is True
    hall("finish", window=1)
    hall("call_next", window=1)
    hall("start_service", window=1)
    assert "started_service" not in hall("evaluate", window=1, level=4)


def test_asking_a_ticket_only_called_to_evaluate_says_service_started(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    assert hall("request_evaluation", window=1)["started_service"] is True
    assert hall.types()[-2:] == ["ticket.serving", "evaluation.requested"]


def test_an_unknown_service_lists_the_valid_ones(hall: Driver) -> None:
    err = hall.fails("unknown_service", "take_ticket", service="NOPE")
    assert "BDC (不动产登记)" in err.message and "ZH (综合受理)" in err.message


def test_a_service_may_be_named_in_chinese(hall: Driver) -> None:
    r = hall("take_ticket", service="不动产登记")
    assert (r["ticket"], r["service"]) == ("A001", "BDC")


def test_a_bad_level_lists_the_chinese_names_too(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    err = hall.fails("bad_request", "evaluate", window=1, level="great")
    for name in ("非常满意", "满意", "基本满意", "不满意", "非常不满意", "very_satisfied"):
        assert name in err.message


def test_outside_hours_gives_the_hours_and_the_hall_time(hall: Driver) -> None:
    hall.now = datetime(2026, 11, 25, 12, 30, tzinfo=TZ)
    err = hall.fails("outside_hours", "take_ticket", service="GJJ")
    assert "09:00-12:00" in err.message and "12:30" in err.message
    assert "Asia/Shanghai" in err.message
