"""One class of one service's line: waiting tickets kept sorted by their order key.

The line only ever grows at its ends (a new arrival takes the largest order so far, a transfer or
rejoin "to the front" the smallest) and shrinks at its head (a window calls the first ticket), so
a plain sorted list would pay a memmove of the whole line on every call. This keeps the sorted
items in a list with a moving start: removing the head and adding at either end are O(1)
amortised, a position ("how many are ahead of order k") is a bisection, whatever the line's size.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

Item = tuple[int, str]  # (order, ticket number)
_PAD: Item = (0, "")
_COMPACT_MIN = 64


class OrderedQueue:
    __slots__ = ("_items", "_start")

    def __init__(self) -> None:
        self._items: list[Item] = []
        self._start = 0

    def __len__(self) -> int:
        return len(self._items) - self._start

    def __bool__(self) -> bool:
        return len(self._items) > self._start

    def __iter__(self) -> Iterator[Item]:
        items, start = self._items, self._start
        return (items[i] for i in range(start, len(items)))

    def __getitem__(self, index: int) -> Item:
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        return self._items[self._start + index]

    def __repr__(self) -> str:
        return f"OrderedQueue({list(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OrderedQueue):
            return list(self) == list(other)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> OrderedQueue:
        """The same items in a queue of its own (a forward run made over several passes reads
        the line as it was when it started)."""
        q = OrderedQueue()
        q._items = self._items[self._start :]
        return q

    def head(self) -> Item | None:
        """The first item, or None when empty (one call where ``q and q[0]`` made two)."""
        items, start = self._items, self._start
        return items[start] if len(items) > start else None

    def add(self, order: int, number: str) -> None:
        item = (order, number)
        items, start = self._items, self._start
        if len(items) == start or item > items[-1]:
            items.append(item)
        elif item < items[start]:
            if start == 0:
                # no room before the head: make room for as many front inserts as there are items
                pad = max(8, len(items))
                self._items = items = [_PAD] * pad + items
                start = pad
            start -= 1
            items[start] = item
            self._start = start
        else:
            items.insert(bisect_left(items, item, lo=start), item)  # not reached by the fold

    def remove(self, order: int, number: str) -> bool:
        item = (order, number)
        items, start = self._items, self._start
        i = bisect_left(items, item, lo=start)
        if i == len(items) or items[i] != item:
            return False
        if i == start:
            items[start] = _PAD
            self._start = start = start + 1
            if start >= _COMPACT_MIN and start >= 2 * (len(items) - start):
                # amortised: the slack is twice the line, so this runs once per many removals
                del items[:start]
                self._start = 0
        else:
            del items[i]
        return True

    def count_before(self, order: int) -> int:
        """How many tickets in this queue have a smaller order (are called before it)."""
        return bisect_left(self._items, (order, ""), lo=self._start) - self._start
