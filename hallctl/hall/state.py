"""The hall's state and the fold that changes it: ``apply(state, type, data, at)``.

State is only ever changed here, by events, so that a live run and a replay of the journal
reach the same state. Day-scoped parts (tickets, queues, counters) reset at local midnight.
"""

from __future__ import annotations

import heapq
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hallctl.hall import supervision_state
from hallctl.hall.arrival_profile import ArrivalProfile
from hallctl.hall.queue import OrderedQueue
from hallctl.hall.service_times import PAUSE_SAMPLES, STAFF_SAMPLES, new_samples, server_key
from hallctl.hall.supervision_state import sync_window

WAITING, CALLED, SERVING, SUSPENDED, FINISHED, NO_SHOW = (
    "waiting",
    "called",
    "serving",
    "suspended",
    "finished",
    "no_show",
)
CLASSES = ("green", "appointment", "normal")  # queue classes, in calling order
CHANNEL_CLASS = {"green": "green", "appointment": "appointment", "normal": "normal"}


@dataclass(slots=True)
class Ticket:
    number: str
    service: str
    channel: str
    issued_at: float
    order: int  # position key in its line; smaller is called first
    state: str = WAITING
    waiting_since: float = 0.0
    window: int | None = None
    recalls: int = 0
    called_at: float | None = None
    served_at: float | None = None
    finished_at: float | None = None
    no_show_at: float | None = None
    evaluated: bool = False
    case_no: str | None = None
    transfers: int = 0
    # No field for what only issuing needs (appointment code, ID hash): a busy day's tickets
    # are most of the state's memory, and each slot is 8 bytes a ticket.


@dataclass(slots=True)
class Window:
    number: int
    status: str = "closed"  # closed | open | paused
    staff: str | None = None
    current: str | None = None
    suspended: list[str] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)  # per service, for the ratio rule
    last_finished: str | None = None
    pause_reason: str | None = None
    opened_at: float = 0.0
    paused_at: float = 0.0


@dataclass(slots=True)
class ServiceLine:
    """One service's waiting tickets, a sorted queue per class of (order, number)."""

    queues: dict[str, OrderedQueue] = field(
        default_factory=lambda: {c: OrderedQueue() for c in CLASSES}
    )

    def add(self, cls: str, order: int, number: str) -> None:
        self.queues[cls].add(order, number)

    def remove(self, cls: str, order: int, number: str) -> None:
        self.queues[cls].remove(order, number)

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())


@dataclass(slots=True)
class HallState:
    day: str = ""
    tickets: dict[str, Ticket] = field(default_factory=dict)
    lines: dict[str, ServiceLine] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)  # last number issued per service
    issued: dict[str, int] = field(default_factory=dict)
    id_hashes: dict[str, set[str]] = field(default_factory=dict)
    windows: dict[int, Window] = field(default_factory=dict)
    arrivals: int = 0  # orders handed out today; front-of-line orders count down from 0
    fronts: int = 0
    pending_evaluations: dict[str, float] = field(default_factory=dict)  # ticket → since
    recent_calls: list[dict[str, Any]] = field(default_factory=list)
    service_minutes: dict[str, float] = field(default_factory=dict)  # EWMA of service time
    staff_on_duty: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    device_alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    evaluations: dict[int, int] = field(default_factory=dict)  # level → count today
    first_check_in: dict[str, float] = field(default_factory=dict)  # staff → today's first
    checked_out_at: dict[str, float] = field(default_factory=dict)
    # today's changes to services by supervisors: issuing stopped, a different daily cap
    service_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: dict[str | None, str] = field(default_factory=dict)  # zone (None = all) → text
    recent_calls_max: int = 8
    last_seq: int = 0
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # open 差评 cases
    norms: supervision_state.NormTrack = field(default_factory=supervision_state.NormTrack)
    # per service, a heap of (waiting since, ticket) pushed whenever a ticket starts waiting, so
    # the tick finds long waits without walking the day's tickets
    wait_watch: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    # tickets that left the line while a long-wait alarm was up: the tick clears those alarms
    long_wait_left: set[str] = field(default_factory=set)
    # for wait estimates (hall/eta.py): window occupancy per call, in hall seconds, kept across
    # days, per service and per "staff/service" (or "#window/service"); pause lengths; today's
    # recent issues per service
    service_samples: dict[str, deque[float]] = field(default_factory=dict)
    staff_samples: dict[str, deque[float]] = field(default_factory=dict)
    pause_samples: deque[float] = field(default_factory=lambda: new_samples(PAUSE_SAMPLES))
    arrival_log: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)
    arrival_profile: ArrivalProfile = field(default_factory=ArrivalProfile)  # across days
    samples_seen: int = 0  # service-time samples taken so far (a version for their caches)
    changes: int = 0  # events folded so far: a version for caches of derived views
    clock: float = 0.0  # the time of the latest event folded

    def line(self, service: str) -> ServiceLine:
        line = self.lines.get(service)
        if line is None:
            line = self.lines[service] = ServiceLine()
        return line

    def window(self, number: int) -> Window:
        w = self.windows.get(number)
        if w is None:
            w = self.windows[number] = Window(number)
        return w


EWMA_ALPHA = 0.2
ARRIVAL_LOG = 400


def _enqueue(s: HallState, t: Ticket, at: float, front: bool) -> None:
    if front:
        s.fronts -= 1
        t.order = s.fronts
    else:
        s.arrivals += 1
        t.order = s.arrivals
    t.state = WAITING
    t.window = None
    s.line(t.service).queues[CHANNEL_CLASS[t.channel]].add(t.order, t.number)
    watch = s.wait_watch.get(t.service)
    if watch is None:
        watch = s.wait_watch[t.service] = []
    heapq.heappush(watch, (t.waiting_since, t.number))


def _dequeue(s: HallState, t: Ticket) -> None:
    s.line(t.service).queues[CHANNEL_CLASS[t.channel]].remove(t.order, t.number)
    if s.alarms and f"long_wait:{t.number}" in s.alarms:
        s.long_wait_left.add(t.number)


def _release(s: HallState, t: Ticket) -> None:
    """The ticket leaves its window's hands."""
    if t.window is not None:
        w = s.window(t.window)
        if w.current == t.number:
            w.current = None
        if t.number in w.suspended:
            w.suspended.remove(t.number)


def _day_started(s: HallState, d: dict[str, Any], at: float) -> None:
    s.day = d["day"]
    s.tickets.clear()
    s.lines.clear()
    s.counters.clear()
    s.issued.clear()
    s.service_overrides.clear()
    s.id_hashes.clear()
    s.arrivals = 0
    s.fronts = 0
    s.pending_evaluations.clear()
    s.wait_watch.clear()
    s.long_wait_left.clear()
    s.arrival_log.clear()
    s.recent_calls.clear()
    s.evaluations.clear()
    s.first_check_in.clear()
    s.checked_out_at.clear()
    for w in s.windows.values():
        w.current = None
        w.suspended.clear()
        w.served.clear()
        w.last_finished = None
    s.appointments = {c: a for c, a in s.appointments.items() if a["day"] >= s.day}
    s.alarms = {k: a for k, a in s.alarms.items() if a.get("scope") != "day"}


def _ticket_issued(s: HallState, d: dict[str, Any], at: float) -> None:
    fold_issued(
        s,
        d["ticket"],
        # interned: from a replay's JSON each ticket had its own copy of these words
        sys.intern(d["service"]),
        sys.intern(d["channel"]),
        d["counter"],
        at,
        d.get("id_hash"),
        d.get("appointment_code"),
    )


def fold_issued(
    s: HallState,
    number: str,
    service: str,
    channel: str,
    counter: int,
    at: float,
    id_hash: str | None,
    appointment: str | None,
) -> None:
    """ticket.issued from its values (``service`` and ``channel`` interned by the caller)."""
    t = Ticket(number, service, channel, issued_at=at, order=0, waiting_since=at)
    s.tickets[number] = t
    s.counters[service] = counter
    issued = s.issued
    issued[service] = issued.get(service, 0) + 1
    if id_hash:
        s.id_hashes.setdefault(service, set()).add(id_hash)
    if appointment and appointment in s.appointments:
        s.appointments[appointment]["used"] = True
    _enqueue(s, t, at, front=False)
    log = s.arrival_log.get(service)
    if log is None:
        log = s.arrival_log[service] = deque(maxlen=ARRIVAL_LOG)
    log.append((at, channel))
    s.arrival_profile.note(s.day, at, service, channel)


def _occupancy(s: HallState, t: Ticket, at: float) -> None:
    """A window was taken from the call until now: one service-time sample."""
    if t.called_at is None or t.window is None or at <= t.called_at:
        return
    seconds = at - t.called_at
    s.samples_seen += 1
    samples = s.service_samples.get(t.service)
    if samples is None:
        samples = s.service_samples[t.service] = new_samples()
    samples.append(seconds)
    key = server_key(s.window(t.window).staff, t.window, t.service)
    own = s.staff_samples.get(key)
    if own is None:
        own = s.staff_samples[key] = new_samples(STAFF_SAMPLES)
    own.append(seconds)


def _service_issuing_changed(s: HallState, d: dict[str, Any], at: float) -> None:
    s.service_overrides.setdefault(d["service"], {})["issuing"] = d["issuing"]


def _service_cap_changed(s: HallState, d: dict[str, Any], at: float) -> None:
    s.service_overrides.setdefault(d["service"], {})["cap"] = d["cap"]


def _ticket_called(s: HallState, d: dict[str, Any], at: float) -> None:
    fold_called(s, s.tickets[d["ticket"]], d["window"], d.get("window_name"), at)


def fold_called(s: HallState, t: Ticket, window: int, window_name: str | None, at: float) -> None:
    """ticket.called from its values."""
    if t.state == WAITING:
        _dequeue(s, t)
    else:
        _release(s, t)  # called back from suspension
    t.state = CALLED
    t.window = window
    t.called_at = at
    t.recalls = 0
    w = s.window(window)
    w.current = t.number
    served = w.served
    served[t.service] = served.get(t.service, 0) + 1
    recent = s.recent_calls
    recent.insert(0, {"ticket": t.number, "window": w.number, "window_name": window_name, "at": at})
    del recent[s.recent_calls_max :]


def _ticket_recalled(s: HallState, d: dict[str, Any], at: float) -> None:
    s.tickets[d["ticket"]].recalls = d["count"]


def _ticket_serving(s: HallState, d: dict[str, Any], at: float) -> None:
    t = s.tickets[d["ticket"]]
    t.state = SERVING
    t.served_at = at


def _ticket_finished(s: HallState, d: dict[str, Any], at: float) -> None:
    fold_finished(s, s.tickets[d["ticket"]], d.get("case_no"), at)


def fold_finished(s: HallState, t: Ticket, case_no: str | None, at: float) -> None:
    """ticket.finished from its values."""
    if t.served_at is None:
        t.served_at = t.called_at or at
    duration_min = max(0.0, (at - t.served_at) / 60.0)
    if duration_min > 0:
        prev = s.service_minutes.get(t.service)
        s.service_minutes[t.service] = (
            duration_min if prev is None else prev + EWMA_ALPHA * (duration_min - prev)
        )
    _occupancy(s, t, at)
    _release(s, t)
    t.state = FINISHED
    t.finished_at = at
    t.case_no = case_no
    if t.window is not None:
        s.window(t.window).last_finished = t.number
    if not t.evaluated:
        s.pending_evaluations.pop(t.number, None)  # re-insert: the dict stays in time order
        s.pending_evaluations[t.number] = at


def _ticket_no_show(s: HallState, d: dict[str, Any], at: float) -> None:
    t = s.tickets[d["ticket"]]
    _occupancy(s, t, at)
    _release(s, t)
    t.state = NO_SHOW
    t.no_show_at = at


def _ticket_rejoined(s: HallState, d: dict[str, Any], at: float) -> None:
    t = s.tickets[d["ticket"]]
    t.no_show_at = None
    _enqueue(s, t, at, front=d["front"])


def _ticket_suspended(s: HallState, d: dict[str, Any], at: float) -> None:
    t = s.tickets[d["ticket"]]
    w = s.window(d["window"])
    if w.current == t.number:
        w.current = None
    w.suspended.append(t.number)
    t.state = SUSPENDED


def _ticket_transferred(s: HallState, d: dict[str, Any], at: float) -> None:
    t = s.tickets[d["ticket"]]
    _occupancy(s, t, at)
    _release(s, t)
    t.service = d["to_service"]
    t.transfers += 1
    t.recalls = 0
    t.called_at = t.served_at = None
    _enqueue(s, t, at, front=d["front"])


def _window_opened(s: HallState, d: dict[str, Any], at: float) -> None:
    w = s.window(d["window"])
    w.status = "open"
    w.pause_reason = None
    w.opened_at = at
    if d.get("staff"):
        w.staff = d["staff"]


def _window_closed(s: HallState, d: dict[str, Any], at: float) -> None:
    s.window(d["window"]).status = "closed"


def _window_paused(s: HallState, d: dict[str, Any], at: float) -> None:
    w = s.window(d["window"])
    w.status = "paused"
    w.pause_reason = d.get("reason")
    w.paused_at = at


def _window_resumed(s: HallState, d: dict[str, Any], at: float) -> None:
    w = s.window(d["window"])
    if w.status == "paused" and at > w.paused_at:
        s.pause_samples.append(at - w.paused_at)
    w.status = "open"
    w.pause_reason = None


def _window_staff_changed(s: HallState, d: dict[str, Any], at: float) -> None:
    s.window(d["window"]).staff = d.get("staff")


def _evaluation_requested(s: HallState, d: dict[str, Any], at: float) -> None:
    s.pending_evaluations.pop(d["ticket"], None)  # re-insert: the dict stays in time order
    s.pending_evaluations[d["ticket"]] = at


def _evaluation_recorded(s: HallState, d: dict[str, Any], at: float) -> None:
    s.pending_evaluations.pop(d["ticket"], None)
    t = s.tickets.get(d["ticket"])
    if t is not None:
        t.evaluated = True
    if d.get("level") is not None:
        s.evaluations[d["level"]] = s.evaluations.get(d["level"], 0) + 1


def _staff_checked_in(s: HallState, d: dict[str, Any], at: float) -> None:
    s.staff_on_duty[d["staff"]] = {"since": d["time"], "device": d.get("device")}
    s.first_check_in.setdefault(d["staff"], at)
    s.checked_out_at.pop(d["staff"], None)


def _staff_checked_out(s: HallState, d: dict[str, Any], at: float) -> None:
    s.staff_on_duty.pop(d["staff"], None)
    s.checked_out_at[d["staff"]] = at


def _device_online(s: HallState, d: dict[str, Any], at: float) -> None:
    s.devices[d["device"]] = {"online": True, "since": at, "detail": d.get("detail")}


def _device_offline(s: HallState, d: dict[str, Any], at: float) -> None:
    s.devices[d["device"]] = {"online": False, "since": at, "detail": d.get("detail")}


def _device_alarm(s: HallState, d: dict[str, Any], at: float) -> None:
    key = f"{d['device']}:{d['alarm']}"
    if d["active"]:
        s.device_alarms[key] = {
            "device": d["device"],
            "alarm": d["alarm"],
            "detail": d.get("detail"),
        }
    else:
        s.device_alarms.pop(key, None)


def _alarm_raised(s: HallState, d: dict[str, Any], at: float) -> None:
    s.alarms[d["alarm"]] = dict(d, since=at)


def _alarm_cleared(s: HallState, d: dict[str, Any], at: float) -> None:
    s.alarms.pop(d["alarm"], None)


def _appointment_booked(s: HallState, d: dict[str, Any], at: float) -> None:
    s.appointments[d["code"]] = {
        "service": d["service"],
        "day": d["day"],
        "slot": d.get("slot"),
        "used": False,
    }


def _notice_changed(s: HallState, d: dict[str, Any], at: float) -> None:
    s.notices[d.get("zone")] = d["text"]


def _no_change(s: HallState, d: dict[str, Any], at: float) -> None:
    """Events that inform the outside world but change no state (reprints, recalls' audio)."""


APPLY: dict[str, Callable[[HallState, dict[str, Any], float], None]] = {
    "day.started": _day_started,
    "ticket.issued": _ticket_issued,
    "ticket.called": _ticket_called,
    "service.issuing_changed": _service_issuing_changed,
    "service.cap_changed": _service_cap_changed,
    "ticket.recalled": _ticket_recalled,
    "ticket.serving": _ticket_serving,
    "ticket.finished": _ticket_finished,
    "ticket.no_show": _ticket_no_show,
    "ticket.rejoined": _ticket_rejoined,
    "ticket.suspended": _ticket_suspended,
    "ticket.called_back": _no_change,  # followed by ticket.called, which moves it
    "ticket.transferred": _ticket_transferred,
    "ticket.reprint_requested": _no_change,
    "window.opened": _window_opened,
    "window.closed": _window_closed,
    "window.paused": _window_paused,
    "window.resumed": _window_resumed,
    "window.staff_changed": _window_staff_changed,
    "evaluation.requested": _evaluation_requested,
    "evaluation.recorded": _evaluation_recorded,
    "staff.checked_in": _staff_checked_in,
    "staff.checked_out": _staff_checked_out,
    "device.online": _device_online,
    "device.offline": _device_offline,
    "device.alarm": _device_alarm,
    "alarm.raised": _alarm_raised,
    "alarm.cleared": _alarm_cleared,
    "appointment.booked": _appointment_booked,
    "notice.changed": _notice_changed,
    **supervision_state.APPLY,
    "report.daily": _no_change,
}


def apply(state: HallState, type_: str, data: dict[str, Any], at: float) -> None:
    """Fold one event into the state. Unknown types (from a newer version) are ignored."""
    fn = APPLY.get(type_)
    if fn is not None:
        fn(state, data, at)
        supervision_state.track(state, type_, data, at)
        state.changes += 1
        if at > state.clock:
            state.clock = at


def folded(state: HallState, at: float, window: int | None = None) -> None:
    """What ``apply`` does after an event's own fold, for the core's folds from values (the
    ``fold_*`` functions): the supervision part, given the event's ``window``, and the
    versions. Only for events the supervision part reads nothing else of (not no-shows,
    not the day's start). tests/hall/test_direct_fold.py: both paths reach the same state."""
    if window is not None:
        sync_window(state, window, at)
    state.changes += 1
    if at > state.clock:
        state.clock = at
