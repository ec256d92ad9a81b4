"""A zone's waiting announcements: in order, newer ones supersede those they make out of date,
stale ones are dropped. Pure and synchronous (time is an argument), so it is easy to specify.

Out of date: a waiting announcement about the same ticket (only the latest word about a ticket
matters: a recall, a transfer, or its call at the next window), or a waiting call of the same
window (the window has called again: a recall, or its next ticket). A transfer is about the
ticket, not the window: the window's next call does not silence "A012 go to 社保".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Call:
    """One announcement to make: a journaled event that names a ticket and a window."""

    seq: int  # journal seq of the event that asked for it
    trigger: str  # event type: ticket.called, ticket.recalled, …
    ticket: str
    window: int
    window_name: str
    queued_at: float = 0.0  # monotonic seconds
    service: str | None = None  # the ticket's service; for a transfer, the line it joins

    @property
    def is_transfer(self) -> bool:
        return self.trigger == "ticket.transferred"

    def outdates(self, older: Call) -> bool:
        """Whether this call makes a waiting ``older`` one not worth saying."""
        if older.ticket == self.ticket:
            return True
        return older.window == self.window and not (older.is_transfer or self.is_transfer)


@dataclass(frozen=True, slots=True)
class Dropped:
    call: Call
    reason: str  # superseded | stale | quiet


@dataclass
class ZoneQueue:
    max_age_s: float
    waiting: list[Call] = field(default_factory=list)

    def push(self, call: Call) -> list[Dropped]:
        """Queue ``call``. It takes the place in the line of the first waiting call it makes out
        of date (see the module doc); every call it makes out of date is dropped."""
        stale = [i for i, old in enumerate(self.waiting) if call.outdates(old)]
        if not stale:
            self.waiting.append(call)
            return []
        dropped = [Dropped(self.waiting[i], "superseded") for i in stale]
        self.waiting[stale[0]] = call
        for i in reversed(stale[1:]):
            del self.waiting[i]
        return dropped

    def withdraw(self, ticket: str) -> list[Dropped]:
        """Drop the waiting calls of ``ticket``: another zone has newer word about it."""
        gone = [c for c in self.waiting if c.ticket == ticket]
        self.waiting = [c for c in self.waiting if c.ticket != ticket]
        return [Dropped(c, "superseded") for c in gone]

    def pop(self, now: float) -> tuple[Call | None, list[Dropped]]:
        """The next call still worth saying, and the stale ones skipped on the way."""
        dropped: list[Dropped] = []
        while self.waiting:
            call = self.waiting.pop(0)
            if now - call.queued_at > self.max_age_s:
                dropped.append(Dropped(call, "stale"))
                continue
            return call, dropped
        return None, dropped

    def __len__(self) -> int:
        return len(self.waiting)
