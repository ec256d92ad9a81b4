"""The supervision part of the fold: what norms and 差评 cases need to know, kept by events.

``track`` runs after every event's main fold (``state.apply``), so a replay of the journal
rebuilds exactly what a live run had: when each window last became free or paused, and its
recent no-shows. Cases and alarm acknowledgements have their own events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hallctl.hall.state import HallState

NO_SHOWS_KEPT = 32


@dataclass(slots=True)
class NormTrack:
    free_since: dict[int, float] = field(default_factory=dict)  # open, nobody at the window
    paused_since: dict[int, float] = field(default_factory=dict)
    no_shows: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # (at, after call)


def sync_window(s: HallState, number: int, at: float) -> None:
    w = s.windows.get(number)
    if w is None:
        return
    n = s.norms
    if w.status == "open" and w.current is None:
        n.free_since.setdefault(number, at)
    else:
        n.free_since.pop(number, None)
    if w.status == "paused":
        n.paused_since.setdefault(number, at)
    else:
        n.paused_since.pop(number, None)


def track(s: HallState, type_: str, data: dict[str, Any], at: float) -> None:
    window = data.get("window")
    if type_ == "day.started":
        for number in s.windows:
            sync_window(s, number, at)
        s.norms.no_shows.clear()
    elif isinstance(window, int):
        sync_window(s, window, at)
        if type_ == "ticket.no_show":
            t = s.tickets.get(data["ticket"])
            if t is not None and t.called_at is not None:
                recent = s.norms.no_shows.setdefault(window, [])
                recent.append((at, at - t.called_at))
                del recent[:-NO_SHOWS_KEPT]


def _case_opened(s: HallState, d: dict[str, Any], at: float) -> None:
    s.cases[d["case"]] = dict(d, opened_at=at, followed_up=[])


def _case_followed_up(s: HallState, d: dict[str, Any], at: float) -> None:
    case = s.cases.get(d["case"])
    if case is not None:
        case["followed_up"].append({"by": d["by"], "note": d["note"], "at": at})


def _case_closed(s: HallState, d: dict[str, Any], at: float) -> None:
    s.cases.pop(d["case"], None)  # live state keeps open cases; the journal keeps all


def _alarm_acknowledged(s: HallState, d: dict[str, Any], at: float) -> None:
    alarm = s.alarms.get(d["alarm"])
    if alarm is not None:
        alarm["ack"] = {"by": d["by"], "note": d.get("note"), "at": d["at"]}


APPLY: dict[str, Callable[[HallState, dict[str, Any], float], None]] = {
    "case.opened": _case_opened,
    "case.followed_up": _case_followed_up,
    "case.closed": _case_closed,
    "alarm.acknowledged": _alarm_acknowledged,
}
