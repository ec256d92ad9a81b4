"""One business day folded into facts: a row per ticket, window times, attendance, alarms, cases.

The KPIs are computed from these facts, never from live state, so they survive restarts and
archives. A day's facts depend only on that day's journal events, so a closed day is folded
once and kept (``store.py``); a report over a month or a year reads 30 or 365 stored rows.

Ticket rows are a numpy structured array (20 bytes a ticket): fast to store as one blob and to
aggregate; strings (services, staff) are indexes into small per-day tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

FACT_DTYPE = np.dtype(
    [
        ("service", "i2"),  # index into DayFacts.services (the service it ended in)
        ("window", "i2"),  # last window that called it; -1 = never called
        ("staff", "i2"),  # index into DayFacts.staff of who called it; -1 = nobody named
        ("hour", "i1"),  # local hour it was issued
        ("finish_hour", "i1"),  # local hour it was finished; -1 = not finished
        ("outcome", "i1"),  # OPEN / SERVED / NO_SHOW at the end of the day
        ("level", "i1"),  # evaluation 1..5; 0 = none
        ("evaluation", "i1"),  # NOT_EVALUATED / EVALUATED / TIMED_OUT
        ("flags", "u1"),  # TRANSFERRED | SUSPENDED | CALLED | AUTO_FINISHED
        ("wait", "f4"),  # seconds from issue to first call; NaN = never called
        ("service_s", "f4"),  # seconds at the window of the finishing visit; NaN = not served
    ]
)
OPEN, SERVED, NO_SHOW = 0, 1, 2
NOT_EVALUATED, EVALUATED, TIMED_OUT = 0, 1, 2
TRANSFERRED, SUSPENDED, CALLED, AUTO_FINISHED = 1, 2, 4, 8
FACTS_VERSION = 2


@dataclass(slots=True)
class WindowTime:
    open_s: float = 0.0
    paused_s: float = 0.0
    idle_s: float = 0.0  # open, not paused, nobody at the window
    busy_s: float = 0.0  # a ticket in hand


@dataclass(slots=True)
class DayFacts:
    day: str
    services: list[str]
    staff: list[str]
    tickets: np.ndarray[Any, Any]
    windows: dict[int, WindowTime] = field(default_factory=dict)
    open_by_hour: list[float] = field(default_factory=lambda: [0.0] * 24)  # window-seconds
    attendance: dict[str, dict[str, Any]] = field(default_factory=dict)
    alarms: list[dict[str, Any]] = field(default_factory=list)  # detail; [] when not loaded
    cases: dict[str, list[Any]] = field(default_factory=dict)  # opened / followed / closed
    # [kind, window, staff, service, raised, acknowledged]: month and year reports read these
    alarm_counts: list[list[Any]] = field(default_factory=list)

    def count_alarms(self) -> None:
        counts: dict[tuple[Any, ...], list[int]] = {}
        for a in self.alarms:
            key = (a["kind"], a.get("window"), a.get("staff"), a.get("service"))
            c = counts.setdefault(key, [0, 0])
            c[0] += 1
            c[1] += bool(a.get("ack_by"))
        self.alarm_counts = [[*k, *v] for k, v in counts.items()]

    def extra_json(self) -> str:
        return json.dumps(
            {
                "services": self.services,
                "staff": self.staff,
                "windows": {
                    str(n): [w.open_s, w.paused_s, w.idle_s, w.busy_s]
                    for n, w in self.windows.items()
                },
                "open_by_hour": self.open_by_hour,
                "attendance": self.attendance,
                "alarm_counts": self.alarm_counts,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_stored(
        cls, day: str, blob: bytes, extra: str, cases: str, alarms: str | None
    ) -> DayFacts:
        x = json.loads(extra)
        return cls(
            day=day,
            services=x["services"],
            staff=x["staff"],
            tickets=np.frombuffer(blob, dtype=FACT_DTYPE),
            windows={int(n): WindowTime(*v) for n, v in x["windows"].items()},
            open_by_hour=x["open_by_hour"],
            attendance=x["attendance"],
            alarms=json.loads(alarms) if alarms is not None else [],
            cases=json.loads(cases),
            alarm_counts=x["alarm_counts"],
        )


class _Window:
    __slots__ = ("busy", "since", "status", "time")

    def __init__(self) -> None:
        self.status = "closed"
        self.busy = False
        self.since = 0.0
        self.time = WindowTime()


class DayFolder:
    """Feed one day's records in journal order (``add``), then ``facts()``."""

    def __init__(self, day: str, tz: ZoneInfo) -> None:
        self.day = day
        self._midnight = datetime.combine(date.fromisoformat(day), time(0), tz).timestamp()
        self._services: dict[str, int] = {}
        self._staff: dict[str, int] = {}
        self._rows: dict[str, list[Any]] = {}
        self._windows: dict[int, _Window] = {}
        self._open_by_hour = [0.0] * 24
        self._attendance: dict[str, dict[str, Any]] = {}
        self._alarms: dict[str, dict[str, Any]] = {}
        self._alarm_list: list[dict[str, Any]] = []
        self._cases: dict[str, list[Any]] = {"opened": [], "followed": [], "closed": []}
        self._last = self._midnight

    def _index(self, table: dict[str, int], key: str | None) -> int:
        if key is None:
            return -1
        i = table.get(key)
        if i is None:
            i = table[key] = len(table)
        return i

    # -- window time accounting -------------------------------------------------------------

    def _account(self, w: _Window, now: float) -> None:
        if w.status != "closed" and now > w.since:
            span = now - w.since
            t = w.time
            t.open_s += span
            if w.status == "paused":
                t.paused_s += span
            elif w.busy:
                t.busy_s += span
            else:
                t.idle_s += span
            a = w.since
            while a < now:  # split the open span over the hours of the day
                h = int((a - self._midnight) // 3600)
                b = min(now, self._midnight + (h + 1) * 3600)
                if 0 <= h < 24:
                    self._open_by_hour[h] += b - a
                a = b
        w.since = now

    def _window(self, number: int, now: float) -> _Window:
        w = self._windows.get(number)
        if w is None:
            w = self._windows[number] = _Window()
        self._account(w, now)
        return w

    # -- the fold ---------------------------------------------------------------------------

    def add(self, type_: str, ts: str, data: dict[str, Any]) -> None:
        now = datetime.fromisoformat(ts).timestamp()
        self._last = now
        hour = int(ts[11:13])
        if type_.startswith("ticket."):
            self._ticket(type_, hour, now, data)
        elif type_.startswith("window."):
            w = self._window(data["window"], now)
            if type_ == "window.opened" or type_ == "window.resumed":
                w.status = "open"
            elif type_ == "window.closed":
                w.status, w.busy = "closed", False
            elif type_ == "window.paused":
                w.status = "paused"
            elif type_ == "window.staff_changed" and data.get("role") == "B" and data["staff"]:
                self._person(data["staff"])["cover"] += 1
        elif type_ == "evaluation.recorded":
            row = self._rows.get(data["ticket"])
            if row is not None:
                row[6] = data["level"] or 0
                row[7] = TIMED_OUT if data.get("status") == "timed_out" else EVALUATED
                if not data.get("evaluated", True):
                    row[7] = TIMED_OUT
        elif type_.startswith("alarm."):
            self._alarm(type_, ts, data)
        elif type_ == "staff.checked_in":
            self._person(data["staff"]).setdefault("check_in", data["time"][11:16])
        elif type_ == "staff.checked_out":
            self._person(data["staff"])["check_out"] = data["time"][11:16]
        elif type_ == "case.opened":
            self._cases["opened"].append(
                {k: data.get(k) for k in ("case", "ticket", "service", "window", "staff", "level")}
                | {"due": data["due"], "reason": data.get("reason")}
            )
        elif type_ == "case.followed_up":
            self._cases["followed"].append([data["case"], self.day])
        elif type_ == "case.closed":
            self._cases["closed"].append([data["case"], self.day, data["on_time"]])

    def _person(self, staff: str) -> dict[str, Any]:
        p = self._attendance.get(staff)
        if p is None:
            p = self._attendance[staff] = {"late": False, "cover": 0}
        return p

    def _alarm(self, type_: str, ts: str, data: dict[str, Any]) -> None:
        key = data["alarm"]
        if type_ == "alarm.raised":
            entry = {
                "alarm": key,
                "kind": data["kind"],
                "severity": data.get("severity"),
                "raised": ts[:19],
                "cleared": None,
                "ack_by": None,
                "message": data.get("message", ""),
                "window": data.get("window"),
                "staff": data.get("staff"),
                "service": data.get("service"),
            }
            self._alarms[key] = entry
            self._alarm_list.append(entry)
            if data["kind"] == "late_arrival" and data.get("staff"):
                self._person(data["staff"])["late"] = True
        else:
            entry = self._alarms.get(key) or {}
            if type_ == "alarm.cleared" and entry:
                entry["cleared"] = ts[:19]
                del self._alarms[key]
            elif type_ == "alarm.acknowledged" and entry:
                entry["ack_by"] = data["by"]

    def _ticket(self, type_: str, hour: int, now: float, d: dict[str, Any]) -> None:
        number = d["ticket"]
        if type_ == "ticket.issued":
            self._rows[number] = [
                self._index(self._services, d["service"]),
                -1, -1, hour, -1, OPEN, 0, NOT_EVALUATED, 0, np.nan, np.nan,
            ]  # fmt: skip
            return
        row = self._rows.get(number)
        if row is None:  # issued before a restart of the day's numbering: not this day's ticket
            return
        if type_ == "ticket.called":
            if not row[8] & CALLED:
                row[9] = d.get("wait_s", np.nan)
            row[8] |= CALLED
            row[1] = d["window"]
            row[2] = self._index(self._staff, d.get("staff"))
            row[5] = OPEN
            self._window(d["window"], now).busy = True
        elif type_ == "ticket.finished":
            row[5] = SERVED
            row[4] = hour
            row[10] = d["service_s"]
            if d.get("auto"):
                row[8] |= AUTO_FINISHED
            if d.get("window") is not None:
                self._window(d["window"], now).busy = False
        elif type_ == "ticket.no_show":
            row[5] = NO_SHOW
            self._window(d["window"], now).busy = False
        elif type_ == "ticket.rejoined":
            row[5] = OPEN
        elif type_ == "ticket.suspended":
            row[8] |= SUSPENDED
            self._window(d["window"], now).busy = False
        elif type_ == "ticket.transferred":
            row[8] |= TRANSFERRED
            row[0] = self._index(self._services, d["to_service"])
            if d.get("window") is not None:
                self._window(d["window"], now).busy = False

    def facts(self) -> DayFacts:
        for w in self._windows.values():
            self._account(w, self._last)
        rows = [tuple(r) for r in self._rows.values()]
        tickets = np.array(rows, dtype=FACT_DTYPE) if rows else np.zeros(0, dtype=FACT_DTYPE)
        facts = DayFacts(
            day=self.day,
            services=list(self._services),
            staff=list(self._staff),
            tickets=tickets,
            windows={n: w.time for n, w in sorted(self._windows.items())},
            open_by_hour=self._open_by_hour,
            attendance=self._attendance,
            alarms=self._alarm_list,
            cases=self._cases,
        )
        facts.count_alarms()
        return facts


def fold_day(day: str, tz: ZoneInfo, records: Iterable[tuple[str, str, str]]) -> DayFacts:
    """Facts of one day from its (type, ts, data JSON) records in journal order."""
    folder = DayFolder(day, tz)
    for type_, ts, data in records:
        folder.add(type_, ts, json.loads(data))
    return folder.facts()
