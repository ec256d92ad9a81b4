"""How a sink is doing: lag in records and seconds, last error, parked or not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

State = Literal["starting", "ok", "retrying", "parked"]


@dataclass(slots=True)
class SinkHealth:
    name: str
    type: str
    state: State = "starting"
    cursor: int = 0
    delivered: int = 0  # records accepted by the back end since start (re-sends count)
    batches: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    last_ok_at: str | None = None
    # ts of the oldest record not yet delivered (None when caught up)
    oldest_pending: datetime | None = None

    def report(self, last_seq: int, now: datetime) -> dict[str, Any]:
        """The health as status and `state/sinks/<name>` show it."""
        lag_s = 0.0
        if self.oldest_pending is not None:
            lag_s = max(0.0, (now - self.oldest_pending).total_seconds())
        return {
            "name": self.name,
            "type": self.type,
            "state": self.state,
            "cursor": self.cursor,
            "lag_records": max(0, last_seq - self.cursor),
            "lag_s": round(lag_s, 1),
            "delivered": self.delivered,
            "batches": self.batches,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_ok_at": self.last_ok_at,
        }
