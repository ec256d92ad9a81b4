"""Long-wait alarms are found without walking the day's tickets, with the same meaning as before."""

from __future__ import annotations

from tests.hall.conftest import Driver


def alarms(hall: Driver, type_: str) -> list[str]:
    """The long-wait alarms (the norms of 电子监察 raise others, e.g. idle with people waiting)."""
    return [d["alarm"] for t, d in hall.events if t == type_ and d["kind"] == "long_wait"]


def test_only_the_tickets_over_the_limit_raise(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall.later(minutes=20)
    hall("take_ticket", service="BDC")
    hall.later(minutes=11)
    hall("tick")
    assert alarms(hall, "alarm.raised") == ["long_wait:A001"]
    hall.later(minutes=20)
    hall("tick")
    assert alarms(hall, "alarm.raised") == ["long_wait:A001", "long_wait:A002"]


def test_a_rejoined_ticket_that_waited_long_raises_again(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("take_ticket", service="BDC")
    hall.later(minutes=31)
    hall("tick")
    hall("call_next", window=1)
    hall("tick")
    assert alarms(hall, "alarm.cleared") == ["long_wait:A001"]
    hall("no_show", window=1)
    hall("rejoin", ticket="A001")
    hall("tick")  # waiting again, still counted from its issue: the alarm is back
    assert alarms(hall, "alarm.raised") == ["long_wait:A001", "long_wait:A001"]


def test_a_transferred_ticket_is_watched_by_its_new_line(hall: Driver) -> None:
    hall("open_window", window=2)
    hall("take_ticket", service="BDC")
    hall("call_next", window=2)
    hall("transfer", window=2, service="SB", front=False)
    hall.later(minutes=29)
    hall("tick")
    assert alarms(hall, "alarm.raised") == []
    hall.later(minutes=2)
    hall("tick")
    raised = [d for t, d in hall.events if t == "alarm.raised" and d["kind"] == "long_wait"]
    assert [(d["ticket"], d["service"]) for d in raised] == [("A001", "SB")]


def test_evaluation_timeouts_fire_in_time_order(hall: Driver) -> None:
    hall("open_window", window=1)
    for _ in range(3):
        hall("take_ticket", service="BDC")
    hall("call_next", window=1)
    hall("call_next", window=1)  # A001 finished: pending evaluation from now
    hall.later(seconds=30)
    hall("call_next", window=1)  # A002 finished 30 s later
    hall.later(seconds=31)
    hall("tick")  # the 60 s timeout has passed for A001 only
    timed_out = [d["ticket"] for t, d in hall.events if t == "evaluation.recorded"]
    assert timed_out == ["A001"]
    hall.later(seconds=30)
    hall("tick")
    timed_out = [d["ticket"] for t, d in hall.events if t == "evaluation.recorded"]
    assert timed_out == ["A001", "A002"]
