"""Steering the hall from the staff console and the supervisor page: calling a ticket out of
order, stopping issuing, today's cap, and who acted (by/via) on every event."""

from __future__ import annotations

from hallctl.hall.core import Hall
from hallctl.hall.state import apply
from tests.hall.conftest import Driver


def test_a_ticket_called_out_of_order_is_journaled_with_its_reason(hall: Driver) -> None:
    hall("open_window", window=2)
    for _ in range(3):
        hall("take_ticket", service="BDC")
    r = hall("call_ticket", window=2, ticket="A003", reason="老人行动不便")
    assert r["ticket"] == "A003" and r["out_of_order"] is True and r["reason"] == "老人行动不便"
    # the line goes on in order without it
    assert hall("call_next", window=2)["ticket"] == "A001"
    assert hall("call_next", window=2)["ticket"] == "A002"
    assert hall("call_next", window=2)["queue_empty"] is True


def test_only_a_waiting_ticket_of_a_served_service_can_be_called_by_number(hall: Driver) -> None:
    hall("open_window", window=1)
    hall("open_window", window=2)
    hall("take_ticket", service="SB")
    hall.fails("not_served_here", "call_ticket", window=1, ticket="B001", reason="x")
    hall("call_ticket", window=2, ticket="B001", reason="x")
    hall.fails("not_waiting", "call_ticket", window=2, ticket="B001", reason="x")
    hall.fails("unknown_ticket", "call_ticket", window=2, ticket="B404", reason="x")
    hall.fails("bad_request", "call_ticket", window=2, ticket="B001")  # a reason is required


def test_issuing_can_be_stopped_and_resumed_for_today(hall: Driver) -> None:
    hall("set_service_issuing", service="SB", issuing=False, reason="系统维护")
    hall.fails("issuing_stopped", "take_ticket", service="SB")
    assert hall("take_ticket", service="BDC")["ticket"] == "A001"  # other services go on
    hall("set_service_issuing", service="SB", issuing=True)
    assert hall("take_ticket", service="SB")["ticket"] == "B001"


def test_todays_cap_can_be_lowered_and_tomorrow_the_hall_file_holds_again(hall: Driver) -> None:
    hall("take_ticket", service="BDC")
    r = hall("set_service_cap", service="BDC", cap=2)
    assert r == {"service": "BDC", "cap": 2, "configured": 50, "issued": 1}
    hall("take_ticket", service="BDC")
    hall.fails("daily_cap_reached", "take_ticket", service="BDC")
    hall.later(days=1)
    assert hall("take_ticket", service="BDC")["ticket"] == "A001"


def test_a_stopped_service_stays_stopped_after_replay(hall: Driver) -> None:
    hall("set_service_issuing", service="SB", issuing=False)
    hall("set_service_cap", service="BDC", cap=0)
    replayed = Hall(hall.hall.config)
    for type_, data in hall.events:
        apply(replayed.state, type_, data, hall.now.timestamp())
    assert replayed.state.service_overrides == hall.hall.state.service_overrides
    assert replayed.state.service_overrides == {"SB": {"issuing": False}, "BDC": {"cap": 0}}


def test_every_event_a_logged_in_person_caused_names_them_and_the_surface(hall: Driver) -> None:
    hall("take_ticket", service="BDC")
    hall("open_window", window=1, staff="S1", by="S1", via="web")
    hall("call_next", window=1, by="S1", via="web")
    acted = [d for t, d in hall.events if t in ("window.opened", "ticket.called")]
    assert acted and all(d["by"] == "S1" and d["via"] == "web" for d in acted)
    issued = next(d for t, d in hall.events if t == "ticket.issued")
    assert "by" not in issued and "via" not in issued
    hall.fails("bad_request", "call_next", window=1, via="carrier-pigeon")
