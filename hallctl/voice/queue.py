"""A zone's waiting announcements: in order, newer calls of a window supersede older ones,
stale ones are dropped. Pure and synchronous (time is an argument), so it is easy to specify."""

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


@dataclass(frozen=True, slots=True)
class Dropped:
    call: Call
    reason: str  # superseded | stale | quiet


@dataclass
class ZoneQueue:
    max_age_s: float
    waiting: list[Call] = field(default_factory=list)

    def push(self, call: Call) -> list[Dropped]:
        """Queue ``call``. A waiting call of the same window is out of date once the window
        calls again (a recall, or the next ticket): the new one takes its place in the line."""
        for i, old in enumerate(self.waiting):
            if old.window == call.window:
                self.waiting[i] = call
                return [Dropped(old, "superseded")]
        self.waiting.append(call)
        return []

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
