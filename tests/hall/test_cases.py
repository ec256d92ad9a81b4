"""差评整改: a bad review opens a case; 回访, close with a note; overdue after N working days."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hallctl.config import parse_config
from tests.hall.conftest import SMALL_HALL, TZ, Driver

CAL = """
supervision:
  follow_up: {working_days: 15}
  calendar:
    holidays: ["2026-02-15..2026-02-23"]
    workdays: ["2026-02-14", "2026-02-28"]
"""


@pytest.fixture
def h() -> Driver:
    return Driver(parse_config(SMALL_HALL + CAL), datetime(2026, 2, 12, 10, 0, tzinfo=TZ))


def bad_review(h: Driver) -> dict[str, Any]:
    h("open_window", window=1, staff="S1")
    h("take_ticket", service="BDC")
    h("call_next", window=1)
    h("finish", window=1, case_no="BJ2026-001")
    answer = h(
        "evaluate", window=1, level=2, reason="等太久", channel="qr", item_code="11110000-001",
        scores={"efficiency": 1, "quality": 3, "attitude": 4},
    )  # fmt: skip
    opened = next(d for t, d in h.events if t == "case.opened")
    assert answer["case"] == opened["case"]  # the answer names the case, for the follow-up
    return opened


def test_a_bad_review_opens_a_case_due_fifteen_working_days_later(h: Driver) -> None:
    case = bad_review(h)
    assert case["case"] == "2026-02-12-A001"
    assert (case["opened"], case["due"]) == ("2026-02-12", "2026-03-11")
    assert (case["staff"], case["window"], case["level"]) == ("S1", 1, 2)
    assert case["case_no"] == "BJ2026-001"
    rec = next(d for t, d in h.events if t == "evaluation.recorded")
    assert rec["channel"] == "qr" and rec["status"] == "evaluated"
    assert rec["scores"] == {"efficiency": 1, "quality": 3, "attitude": 4}
    assert rec["item_code"] == "11110000-001"


def test_a_good_review_opens_no_case(h: Driver) -> None:
    h("open_window", window=1)
    h("take_ticket", service="BDC")
    h("call_next", window=1)
    h("evaluate", window=1, level=4)
    assert "case.opened" not in h.types()


def test_closing_needs_a_follow_up_first_and_is_on_time(h: Driver) -> None:
    bad_review(h)
    h.fails("not_followed_up", "close_case", case="2026-02-12-A001", by="科长", note="已整改")
    h.later(days=3)
    h("follow_up_case", case="2026-02-12-A001", by="科长", note="电话回访，群众认可")
    closed = h("close_case", case="2026-02-12-A001", by="科长", note="已批评教育")
    assert closed["on_time"] is True and closed["closed"] == "2026-02-15"
    assert h.hall.state.cases == {}
    h.fails("unknown_case", "follow_up_case", case="2026-02-12-A001", by="科长", note="again")


def test_an_overdue_case_raises_an_alarm_that_closing_clears(h: Driver) -> None:
    bad_review(h)
    h.now = datetime(2026, 3, 11, 17, 0, tzinfo=TZ)  # the due day itself: still in time
    h("tick")
    assert not [d for t, d in h.events if t == "alarm.raised" and d["kind"] == "case_overdue"]
    h.now = datetime(2026, 3, 12, 9, 0, tzinfo=TZ)
    h("tick")
    overdue = [d for t, d in h.events if t == "alarm.raised" and d["kind"] == "case_overdue"]
    assert [d["alarm"] for d in overdue] == ["case_overdue:2026-02-12-A001"]
    assert overdue[0]["staff"] == "S1" and overdue[0]["severity"] == "critical"
    h("follow_up_case", case="2026-02-12-A001", by="科长", note="回访")
    closed = h("close_case", case="2026-02-12-A001", by="科长", note="整改完成")
    assert closed["on_time"] is False
    # closing it clears the alarm, and the clearing names who closed the case
    assert ("alarm.cleared", {"alarm": "case_overdue:2026-02-12-A001", "kind": "case_overdue",
                              "by": "科长"}) in h.events


def test_bad_sub_scores_are_refused(h: Driver) -> None:
    h("open_window", window=1)
    h("take_ticket", service="BDC")
    h("call_next", window=1)
    h.fails("bad_request", "evaluate", window=1, level=5, scores={"attitude": 6})
    h.fails("bad_request", "evaluate", window=1, level=5, channel="fax")
