"""One group commit: the events and answers gathered while the previous batch was written.

Every command in a batch waits for the same outcome, so the batch, not each command, holds
it: one append, one result, and the answers to remember once they are durable. Each waiter
gets its own plain future (what ``asyncio.shield`` gave, without its extra callback and loop
pass per waiter): a waiter's cancellation cancels only its own wait, never the batch.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hallctl.journal import PendingEvent, Record


class Batch:
    __slots__ = ("_loop", "_waiters", "answers", "error", "events", "records", "responses")

    def __init__(self) -> None:
        self.events: list[PendingEvent] = []
        self.responses: list[tuple[str, str]] = []  # request id → response JSON, same transaction
        self.answers: list[tuple[str, dict[str, Any]]] = []  # kept under their ids once durable
        self.records: list[Record] | None = None  # set once durable
        self.error: BaseException | None = None  # set if it never will be
        self._loop = asyncio.get_running_loop()
        self._waiters: list[asyncio.Future[None]] = []

    def wait(self) -> asyncio.Future[None]:
        """Done when the batch is durable; raises what failed it."""
        fut: asyncio.Future[None] = self._loop.create_future()
        if self.error is not None:
            fut.set_exception(self.error)
        elif self.records is not None:
            fut.set_result(None)
        else:
            self._waiters.append(fut)
        return fut

    def resolve(self, records: list[Record]) -> None:
        self.records = records
        for fut in self._waiters:
            if not fut.done():  # a cancelled waiter has gone
                fut.set_result(None)
        self._waiters.clear()

    def fail(self, error: BaseException) -> None:
        self.error = error
        for fut in self._waiters:
            if not fut.done():
                fut.set_exception(error)
        self._waiters.clear()
