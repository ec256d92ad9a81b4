"""The line's queue: a sorted list that only grows at its ends and shrinks at its head."""

from __future__ import annotations

from bisect import bisect_left, insort

from hypothesis import given
from hypothesis import strategies as st

from hallctl.hall.queue import OrderedQueue

# an operation: add at the back, add at the front, remove the head, remove the k-th item
OPS = st.lists(st.tuples(st.sampled_from(["back", "front", "head", "any"]), st.integers(0, 50)))


@given(OPS)
def test_behaves_like_a_sorted_list(ops: list[tuple[str, int]]) -> None:
    q, model = OrderedQueue(), []
    back, front = 0, 0
    for op, k in ops:
        if op == "back":
            back += 1
            q.add(back, f"T{back}")
            insort(model, (back, f"T{back}"))
        elif op == "front":
            front -= 1
            q.add(front, f"F{-front}")
            insort(model, (front, f"F{-front}"))
        elif model:
            item = model[0] if op == "head" else model[k % len(model)]
            assert q.remove(*item)
            model.remove(item)
        assert list(q) == model
        assert len(q) == len(model) and bool(q) == bool(model)
        if model:
            assert q[0] == model[0] and q[-1] == model[-1]
            order = model[k % len(model)][0]
            assert q.count_before(order) == bisect_left(model, (order, ""))


def test_removing_what_is_not_there_changes_nothing() -> None:
    q = OrderedQueue()
    q.add(1, "A001")
    assert not q.remove(2, "A002")
    assert q == [(1, "A001")]


def test_head_removal_compacts_the_storage() -> None:
    q = OrderedQueue()
    for i in range(1, 10_001):
        q.add(i, f"A{i}")
    for i in range(1, 9_991):
        q.remove(i, f"A{i}")
    assert len(q) == 10 and q[0] == (9_991, "A9991")
    assert len(q._items) < 100  # the removed heads do not pile up
