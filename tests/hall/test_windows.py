"""Window actions: open, call, recall, no-show, suspend, call back, transfer, pause, close."""

from __future__ import annotations

from tests.hall.conftest import Driver


def opened(hall: Driver, *windows: int) -> Driver:
    for w in windows:
        hall("open_window", window=w)
    return hall


def test_a_closed_window_cannot_call(hall: Driver) -> None:
    hall("take_ticket", service="BDC")
    hall.fails("window_closed", "call_next", window=1)


def test_open_names_the_default_or_given_staff(hall: Driver) -> None:
    hall("open_window", window=1, staff="S1")
    assert hall.events[-1] == (
        "window.staff_changed",
        {"window": 1, "staff": "S1", "staff_name": "王芳", "staff_no": "0101", "role": "A"},
    )
    hall.fails("window_open", "open_window", window=1)
    hall.fails("unknown_staff", "open_window", window=2, staff="NOPE")


def test_call_next_calls_in_arrival_order(hall: Driver) -> None:
    opened(hall, 1)
    for _ in range(3):
        hall("take_ticket", service="BDC")
    assert [hall("call_next", window=1)["ticket"] for _ in range(3)] == ["A001", "A002", "A003"]


def test_calling_next_finishes_the_current_ticket(hall: Driver) -> None:
    opened(hall, 1)
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    hall("call_next", window=1)
    finished = [d for t, d in hall.events if t == "ticket.finished"]
    assert [(d["ticket"], d["auto"]) for d in finished] == [("A001", True)]


def test_empty_queue_is_an_error_only_when_nothing_is_in_hand(hall: Driver) -> None:
    opened(hall, 1)
    hall.fails("queue_empty", "call_next", window=1)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    assert hall("call_next", window=1) == {"window": 1, "ticket": None, "queue_empty": True}
    assert hall.hall.state.tickets["A001"].state == "finished"


def test_a_ticket_is_never_called_by_two_windows(hall: Driver) -> None:
    opened(hall, 1, 2)
    hall("take_ticket", service="BDC")
    assert hall("call_next", window=1)["ticket"] == "A001"
    hall.fails("queue_empty", "call_next", window=2)


def test_recall_is_capped(hall: Driver) -> None:
    opened(hall, 1)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    assert hall("recall", window=1)["count"] == 1
    assert hall("recall", window=1)["count"] == 2
    hall.fails("recall_cap_reached", "recall", window=1)


def test_no_show_may_rejoin_within_the_limit(hall: Driver) -> None:
    opened(hall, 1)
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    assert "rejoin_until" in hall("no_show", window=1)
    hall.later(minutes=10)
    assert hall("rejoin", ticket="A001")["ahead"] == 1  # back of the line, behind A002
    hall("call_next", window=1)
    hall("no_show", window=1)
    hall.later(minutes=31)
    hall.fails("rejoin_expired", "rejoin", ticket="A002")
    hall.fails("not_no_show", "rejoin", ticket="A001")


def test_suspend_frees_the_window_and_call_back_resumes(hall: Driver) -> None:
    opened(hall, 1)
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    hall("start_service", window=1)
    hall("suspend", window=1)
    assert hall("call_next", window=1)["ticket"] == "A002"
    hall.fails("window_busy", "call_back", window=1)
    hall("finish", window=1)
    assert hall("call_back", window=1)["ticket"] == "A001"
    assert hall.hall.state.tickets["A001"].state == "serving"
    hall("finish", window=1)
    hall.fails("not_suspended", "call_back", window=1, ticket="A002")
    hall.fails("not_suspended", "call_back", window=1)


def test_transfer_to_front_or_back_of_another_line(hall: Driver) -> None:
    opened(hall, 1, 3)
    hall("take_ticket", service="BDC")
    hall("take_ticket", service="SB")
    hall("take_ticket", service="SB")
    hall("call_next", window=1)
    assert hall("transfer", window=1, service="SB", front=True)["ahead"] == 0
    assert hall("call_next", window=3)["ticket"] == "A001"
    hall.fails("no_current_ticket", "transfer", window=1, service="SB")


def test_transfer_to_the_same_service_is_refused(hall: Driver) -> None:
    opened(hall, 1)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    hall.fails("same_service", "transfer", window=1, service="BDC")


def test_pause_blocks_calling_until_resume(hall: Driver) -> None:
    opened(hall, 1)
    hall("take_ticket", service="BDC")
    hall("pause_window", window=1, reason="午休")
    hall.fails("window_paused", "call_next", window=1)
    hall.fails("window_paused", "pause_window", window=1)
    hall("resume_window", window=1)
    hall.fails("window_not_paused", "resume_window", window=1)
    assert hall("call_next", window=1)["ticket"] == "A001"


def test_close_finishes_the_ticket_in_hand(hall: Driver) -> None:
    opened(hall, 1)
    hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    hall("close_window", window=1)
    assert hall.hall.state.tickets["A001"].state == "finished"
    hall.fails("window_closed", "close_window", window=1)


def test_unknown_window_is_an_error(hall: Driver) -> None:
    hall.fails("unknown_window", "call_next", window=99)
