"""The default calling chain's shortcut (policy._choose_default) picks what the chain picks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.hall.policy import DEFAULT_CHAIN, choose, rules_for
from hallctl.hall.state import CLASSES, HallState, Ticket

CODES = ["A", "B", "C", "D"]

# a window's services: (code, level, weight), each code once
window_services = st.lists(
    st.tuples(st.sampled_from(CODES), st.integers(1, 3), st.integers(1, 4)),
    min_size=1,
    max_size=4,
    unique_by=lambda s: s[0],
)
# waiting tickets: (service, class, waited since), some in lines the window does not serve
waiting = st.lists(
    st.tuples(st.sampled_from(CODES), st.sampled_from(CLASSES), st.integers(0, 5)), max_size=12
)
served = st.dictionaries(st.sampled_from(CODES), st.integers(0, 6))


def _state(tickets: list[tuple[str, str, int]], served_here: dict[str, int]) -> HallState:
    s = HallState()
    for i, (code, cls, since) in enumerate(tickets):
        number = f"{code}{i:03d}"
        # orders as the fold hands them out: arrivals count up, fronts count down from 0
        order = i + 1 if i % 3 else -i
        s.tickets[number] = Ticket(number, code, cls, float(since), order, waiting_since=since)
        s.line(code).add(cls, order, number)
    s.window(7).served.update(served_here)
    return s


@settings(max_examples=400, deadline=None)
@given(services=window_services, tickets=waiting, served_here=served)
def test_the_shortcut_calls_whom_the_default_chain_calls(
    services: list[tuple[str, int, int]],
    tickets: list[tuple[str, str, int]],
    served_here: dict[str, int],
) -> None:
    state = _state(tickets, served_here)
    assert rules_for(list(DEFAULT_CHAIN), services) is DEFAULT_CHAIN
    # the same rules as another object take the chain rule by rule
    assert choose(state, 7, services, DEFAULT_CHAIN) == choose(
        state, 7, services, list(DEFAULT_CHAIN)
    )


def test_a_window_listing_a_service_twice_or_another_chain_takes_the_rules() -> None:
    assert rules_for(list(DEFAULT_CHAIN), [("A", 1, 1), ("A", 2, 1)]) is not DEFAULT_CHAIN
    assert rules_for(["longest_wait", "fifo"], [("A", 1, 1)]) == ["longest_wait", "fifo"]
