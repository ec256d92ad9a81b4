"""Today's counts per window and per service, kept by folding durable records.

The console's view is recomputed after every batch of records; walking every ticket of a
20,000-ticket day each time would cost tens of milliseconds. These counts start from the state
once (at start or restart) and then move by the records themselves: O(records), not O(day).
Definitions are those of the events: wait = called − issued, service = finished − started.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hallctl.hall.state import FINISHED, NO_SHOW

if TYPE_CHECKING:
    from hallctl.hall.state import HallState
    from hallctl.journal import Record


@dataclass(slots=True)
class Tally:
    served: int = 0
    no_show: int = 0
    wait_s: float = 0.0
    waits: int = 0
    service_s: float = 0.0
    services: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "served": self.served,
            "no_show": self.no_show,
            "mean_wait_min": round(self.wait_s / self.waits / 60, 1) if self.waits else None,
            "mean_service_min": (
                round(self.service_s / self.services / 60, 1) if self.services else None
            ),
        }


@dataclass
class DayCounts:
    windows: dict[int, Tally] = field(default_factory=dict)
    services: dict[str, Tally] = field(default_factory=dict)
    _no_show_at: dict[str, tuple[int, str]] = field(default_factory=dict)

    def window(self, number: int) -> Tally:
        return self.windows.setdefault(number, Tally())

    def service(self, code: str) -> Tally:
        return self.services.setdefault(code, Tally())

    @classmethod
    def from_state(cls, state: HallState) -> DayCounts:
        out = cls()
        for t in state.tickets.values():
            if t.window is None:
                continue
            if t.state == FINISHED:
                wait = (t.called_at or t.issued_at) - t.issued_at
                service = (t.finished_at or 0) - (t.served_at or t.called_at or 0)
                out._finished(t.window, t.service, wait, service if t.finished_at else None)
            elif t.state == NO_SHOW:
                out._no_show(t.number, t.window, t.service)
        return out

    def fold(self, records: Iterable[Record]) -> None:
        for r in records:
            if r.type == "ticket.finished":
                d = json.loads(r.data)
                if d.get("window") is not None:
                    self._finished(d["window"], d["service"], d["wait_s"], d["service_s"])
            elif r.type == "ticket.no_show":
                d = json.loads(r.data)
                self._no_show(d["ticket"], d["window"], d["service"])
            elif r.type == "ticket.rejoined":
                d = json.loads(r.data)
                where = self._no_show_at.pop(d["ticket"], None)
                if where is not None:
                    self.window(where[0]).no_show -= 1
                    self.service(where[1]).no_show -= 1
            elif r.type == "day.started":
                self.windows.clear()
                self.services.clear()
                self._no_show_at.clear()

    def _finished(self, window: int, service: str, wait: float, service_s: float | None) -> None:
        for tally in (self.window(window), self.service(service)):
            tally.served += 1
            tally.wait_s += wait
            tally.waits += 1
            if service_s is not None:
                tally.service_s += service_s
                tally.services += 1

    def _no_show(self, ticket: str, window: int, service: str) -> None:
        self.window(window).no_show += 1
        self.service(service).no_show += 1
        self._no_show_at[ticket] = (window, service)
