"""Property-based (stateful) tests of the hall core's invariants under random command streams."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from hallctl.config import parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from hallctl.hall.events import validate_event
from hallctl.hall.state import CALLED, SERVING, SUSPENDED, WAITING
from hallctl.hall.views import retained_state
from tests.hall.conftest import SMALL_HALL, TZ

CONFIG = parse_config(SMALL_HALL)
SERVICES = ["BDC", "SB", "GJJ", "ZH"]
WINDOWS = [1, 2, 3, 4]
WINDOW_ACTIONS = [
    "open_window",
    "close_window",
    "pause_window",
    "resume_window",
    "call_next",
    "recall",
    "no_show",
    "start_service",
    "finish",
    "suspend",
    "call_back",
    "request_evaluation",
]


class HallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.hall = Hall(CONFIG)
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
        self.log: list[tuple[str, dict, float]] = []
        self.issued: list[tuple[str, str]] = []  # (day, number)
        self.evaluated_unserved = False

    def run(self, request: dict) -> None:
        try:
            out = self.hall.execute(parse_command(request), self.now)
        except HallError as err:
            events = err.events
        else:
            events = out.events
        at = self.now.timestamp()
        for type_, data in events:
            validate_event(type_, data)
            self.log.append((type_, data, at))
            if type_ == "ticket.issued":
                self.issued.append((self.hall.state.day, data["ticket"]))

    @initialize()
    def open_every_window(self) -> None:
        for w in WINDOWS:
            self.run({"action": "open_window", "window": w})

    @rule(n=st.integers(1, 4))
    def busy_bdc_window(self, n: int) -> None:
        # a burst at the single-service window makes ordering mistakes visible
        for _ in range(n):
            self.run({"action": "take_ticket", "service": "BDC"})
        self.run({"action": "call_next", "window": 1})

    @rule(service=st.sampled_from(SERVICES), channel=st.sampled_from(["normal", "normal", "green"]))
    def take(self, service: str, channel: str) -> None:
        self.run({"action": "take_ticket", "service": service, "channel": channel})

    @rule(window=st.sampled_from(WINDOWS), action=st.sampled_from(WINDOW_ACTIONS))
    def window_action(self, window: int, action: str) -> None:
        self.run({"action": action, "window": window})

    @rule(window=st.sampled_from(WINDOWS), service=st.sampled_from(SERVICES), front=st.booleans())
    def transfer(self, window: int, service: str, front: bool) -> None:
        self.run({"action": "transfer", "window": window, "service": service, "front": front})

    @rule(window=st.sampled_from(WINDOWS), level=st.integers(1, 5))
    def evaluate(self, window: int, level: int) -> None:
        self.run({"action": "evaluate", "window": window, "level": level, "reason": "x"})

    @rule(minutes=st.integers(0, 400))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.run({"action": "tick"})

    @invariant()
    def numbers_unique_per_service_per_day(self) -> None:
        counts = Counter(self.issued)
        assert all(n == 1 for n in counts.values()), counts.most_common(3)

    @invariant()
    def every_ticket_in_exactly_one_place(self) -> None:
        s = self.hall.state
        queued = [n for line in s.lines.values() for q in line.queues.values() for _, n in q]
        assert len(queued) == len(set(queued))
        in_hand = [w.current for w in s.windows.values() if w.current]
        suspended = [n for w in s.windows.values() for n in w.suspended]
        places = Counter(queued + in_hand + suspended)
        assert all(n == 1 for n in places.values()), places
        for t in s.tickets.values():
            where = {WAITING: t.number in queued, SUSPENDED: t.number in suspended}
            if t.state in (CALLED, SERVING):
                assert t.number in in_hand
            elif t.state in where:
                assert where[t.state], (t.number, t.state)
            else:
                assert places[t.number] == 0, (t.number, t.state)

    @invariant()
    def a_window_holds_at_most_one_ticket_which_is_its_own(self) -> None:
        for w in self.hall.state.windows.values():
            if w.current:
                assert self.hall.state.tickets[w.current].window == w.number

    @invariant()
    def evaluation_only_after_service(self) -> None:
        served: set[str] = set()
        for type_, data, _ in self.log:
            if type_ == "day.started":
                served.clear()
            elif type_ in ("ticket.serving", "ticket.finished"):
                served.add(data["ticket"])
            elif type_ == "ticket.called":
                pass
            elif type_ == "evaluation.recorded" and data["evaluated"]:
                assert data["ticket"] in served, data

    @invariant()
    def fifo_within_a_class_at_a_single_service_window(self) -> None:
        # window 1 serves only BDC: its normal tickets that were never moved come in issue order
        moved = {
            d["ticket"] for t, d, _ in self.log if t in ("ticket.transferred", "ticket.rejoined")
        }
        order: list[int] = []
        for type_, data, _ in self.log:
            if type_ == "day.started":
                order = []
            if (
                type_ == "ticket.called"
                and data["window"] == 1
                and data["channel"] == "normal"
                and not data.get("callback")
                and data["ticket"] not in moved
            ):
                order.append(int(data["ticket"][1:]))
        assert order == sorted(order)

    @invariant()
    def replaying_the_events_gives_the_same_state(self) -> None:
        replayed = Hall(CONFIG)
        for type_, data, at in self.log:
            replayed.apply(type_, data, at)
        # estimates aside: a restarted hall has no kept forecast, its first is a fresh run
        assert _no_estimates(retained_state(replayed)) == _no_estimates(retained_state(self.hall))
        assert replayed.state.counters == self.hall.state.counters


def _no_estimates(views: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: {f: v for f, v in view.items() if f != "est_wait_min"} for k, view in views.items()}


TestHallInvariants = HallMachine.TestCase
TestHallInvariants.settings = settings(
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
