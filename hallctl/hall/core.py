"""The hall core: commands in, events out. Pure and synchronous: no I/O, no clock of its own.

``Hall.execute(command, now)`` checks the command against the state, and only when every check
has passed emits events; each emitted event is folded into the state at once (``state.apply``;
the busiest ones from the values the handler put in them, ``state.fold_*``, which a replay
reaches through ``apply`` too) so that a command's later events see its earlier ones. A
command that fails raises HallError before its first event, so a bad request changes nothing.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from hallctl.config.models import HallConfig, ServiceConfig, StaffConfig, WindowConfig
from hallctl.hall import cases, duty, norms
from hallctl.hall import commands as c
from hallctl.hall.devices import device_ids
from hallctl.hall.errors import HallError
from hallctl.hall.estimate import ahead_in_class, ahead_of
from hallctl.hall.eta import Estimator
from hallctl.hall.levels import parse_level
from hallctl.hall.policy import choose, rules_for
from hallctl.hall.state import (
    CALLED,
    CHANNEL_CLASS,
    FINISHED,
    NO_SHOW,
    SERVING,
    WAITING,
    HallState,
    Ticket,
    apply,
    fold_called,
    fold_finished,
    fold_issued,
    folded,
)

Event = tuple[str, dict[str, Any]]
CHANNELS = {ch: sys.intern(ch) for ch in CHANNEL_CLASS}


@dataclass(slots=True)
class Outcome:
    events: list[Event] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)


class Hall:
    def __init__(self, config: HallConfig, state: HallState | None = None) -> None:
        self.config = config
        self.state = state or HallState()
        self.state.recent_calls_max = config.calling.recent_calls
        self._services = {s.code: s for s in config.services}
        # a service may also be named in Chinese (不动产登记), as people say it
        self._service_names = {s.name: s for s in config.services}
        self._windows = {w.number: w for w in config.windows}
        self._staff = {s.id: s for s in config.staff}
        self._devices = device_ids(config)
        self._tz = config.hall.tz
        self._window_services = {
            w.number: [
                (ws.service, ws.level, self._services[ws.service].priority_weight)
                for ws in w.services
            ]
            for w in config.windows
        }
        # which windows serve each service: wait estimates ask on every ticket
        self.windows_serving: dict[str, list[int]] = {code: [] for code in self._services}
        for w in config.windows:
            for ws in w.services:
                self.windows_serving[ws.service].append(w.number)
        self._rules = {
            w.number: rules_for(
                (w.policy or config.calling.policy).rules, self._window_services[w.number]
            )
            for w in config.windows
        }
        # per-command lookups made once (the hall file is frozen): a service's issuing hours,
        # a window's shown name, each action's handler
        self._hours = {s.code: s.hours or config.hall.hours for s in config.services}
        self._window_names = {w.number: w.display_name for w in config.windows}
        # what issuing a ticket reads of its service: its code (interned, as a replay's), the
        # %-format its numbers are made with, the counter before its first, its number
        # limits, whether it has hours
        self._issue = {
            s.code: (
                sys.intern(s.code),
                s.prefix.replace("%", "%%") + f"%0{s.digits}d",
                s.number_start - 1,
                s.last_number,
                s.capacity,
                bool(self._hours[s.code]),
            )
            for s in config.services
        }
        self._service_name = {s.code: s.name for s in config.services}
        self._handlers: dict[type[c.Command], Callable[..., None]] = {}
        # the hall-local day of the latest command and the instants it spans, so that a
        # command within it needs no time zone conversion (at most one a day)
        self._day = ("", 0.0, 0.0)
        self._second = (-1.0, "")  # the latest issuing second and its local ISO text
        self._now: tuple[datetime | None, float] = (None, 0.0)  # the latest `now`, as a number
        for n in self._windows:
            self.state.window(n)
        self.eta = Estimator(self)

    # ---- entry points -------------------------------------------------------------------

    def execute(self, cmd: c.AnyCommand, now: datetime) -> Outcome:
        out = Outcome()
        seen, at = self._now
        if now is not seen:  # a clock may hand out one datetime for many commands
            at = now.timestamp()
            self._now = (now, at)
        today, start, end = self._day
        if not start <= at < end:
            today = self._local_day(now)
        if self.state.day != today and not isinstance(cmd, c.Status):
            self._emit(out, "day.started", {"day": today, "previous": self.state.day or None}, at)
        handler = self._handlers.get(cmd.__class__)
        if handler is None:
            handler = self._handlers[cmd.__class__] = getattr(type(self), "on_" + cmd.action)
        try:
            handler(self, cmd, out, now, at)
        except HallError as err:
            # handlers check before they emit, so only the day rollover can precede an error;
            # it is a real change of state (time passed) and must still be journaled
            err.events = out.events
            raise
        if cmd.by or cmd.via:
            _stamp_actor(out.events, cmd.by, cmd.via)
        return out

    def _local_day(self, now: datetime) -> str:
        """The hall-local day of ``now``, kept with the first and last instants it spans."""
        day = now.astimezone(self._tz).date()
        # local midnight (fold 0): the day's first instant, a gap or a repeat at midnight too
        start = datetime.combine(day, time(), self._tz).timestamp()
        end = datetime.combine(day + timedelta(days=1), time(), self._tz).timestamp()
        self._day = (day.isoformat(), start, end)
        return self._day[0]

    def _local_second(self, now: datetime, at: float) -> str:
        """``now`` in hall time to the second, as ISO text (kept: tickets come many a second)."""
        second = at // 1
        if self._second[0] != second:
            self._second = (second, now.astimezone(self._tz).isoformat(timespec="seconds"))
        return self._second[1]

    def apply(self, type_: str, data: dict[str, Any], at: float) -> None:
        """Replay path: fold a journaled event."""
        apply(self.state, type_, data, at)
        self.eta.saw(type_, data)

    # ---- helpers ------------------------------------------------------------------------

    def _emit(self, out: Outcome, type_: str, data: dict[str, Any], at: float) -> None:
        apply(self.state, type_, data, at)
        self.eta.saw(type_, data)
        out.events.append((type_, data))

    def _emitted(self, out: Outcome, type_: str, data: dict[str, Any]) -> None:
        """An event the handler has folded itself, from the values it put in ``data``
        (``state.fold_*`` then ``state.folded``: what ``apply`` would have done)."""
        self.eta.saw(type_, data)
        out.events.append((type_, data))

    def window_config(self, number: int) -> WindowConfig:
        """A window of the hall file by number, in O(1) (views run on every change)."""
        return self._windows[number]

    def staff_config(self, staff_id: str) -> StaffConfig | None:
        return self._staff.get(staff_id)

    def _service(self, code: str) -> ServiceConfig:
        svc = self._services.get(code) or self._service_names.get(code.strip())
        if svc is None:
            valid = ", ".join(f"{s.code} ({s.name})" for s in self._services.values())
            raise HallError("unknown_service", f"{code!r}; valid: {valid}")
        return svc

    def _window(self, number: int) -> WindowConfig:
        try:
            return self._windows[number]
        except KeyError:
            raise HallError("unknown_window", str(number)) from None

    def _ticket(self, number: str) -> Ticket:
        t = self.state.tickets.get(number)
        if t is None:
            raise HallError("unknown_ticket", number)
        return t

    def _current(self, number: int, *states: str) -> Ticket:
        self._window(number)
        current = self.state.window(number).current
        t = self.state.tickets.get(current) if current else None
        if t is None or (states and t.state not in states):
            raise HallError("no_current_ticket", str(number))
        return t

    def _ticket_data(self, t: Ticket) -> dict[str, Any]:
        return {
            "ticket": t.number,
            "service": t.service,
            "service_name": self._service_name[t.service],
        }

    def _window_data(self, number: int) -> dict[str, Any]:
        data: dict[str, Any] = {"window": number, "window_name": self._window_names[number]}
        staff = self.state.window(number).staff
        if staff:
            data["staff"] = staff
        return data

    def _ticket_at_window(self, t: Ticket, number: int) -> dict[str, Any]:
        """``{**_ticket_data(t), **_window_data(number)}`` in one dict."""
        data: dict[str, Any] = {
            "ticket": t.number,
            "service": t.service,
            "service_name": self._service_name[t.service],
            "window": number,
            "window_name": self._window_names[number],
        }
        staff = self.state.window(number).staff
        if staff:
            data["staff"] = staff
        return data

    def _finish(self, out: Outcome, t: Ticket, at: float, case_no: str | None, auto: bool) -> None:
        window = t.window
        data: dict[str, Any] = {
            "ticket": t.number,
            "service": t.service,
            "service_name": self._service_name[t.service],
            "window": window,
            "auto": auto,
        }
        if case_no:
            data["case_no"] = case_no
        called_at = t.called_at
        data["wait_s"] = round(((called_at or at) - t.issued_at), 1)
        data["service_s"] = round(at - (t.served_at or called_at or at), 1)
        fold_finished(self.state, t, case_no or None, at)
        folded(self.state, at, window)
        self._emitted(out, "ticket.finished", data)

    def _in_hours(self, svc: ServiceConfig, now: datetime) -> bool:
        hours = self._hours[svc.code]
        if not hours:
            return True
        local = now.astimezone(self._tz).time()
        return any(r.contains(local) for r in hours)

    # ---- tickets ------------------------------------------------------------------------

    def on_take_ticket(self, cmd: c.TakeTicket, out: Outcome, now: datetime, at: float) -> None:
        if cmd.id_value is not None:
            raise HallError("internal", "raw ID values must be hashed before the hall core")
        svc = self._services.get(cmd.service) or self._service(cmd.service)
        code, number_text, before_first, last_number, capacity, has_hours = self._issue[svc.code]
        s = self.state
        if has_hours and not self._in_hours(svc, now):
            hours = ", ".join(str(r) for r in svc.hours or self.config.hall.hours)
            local = now.astimezone(self._tz)
            raise HallError(
                "outside_hours",
                f"{svc.code} issues tickets {hours}; hall time is {local:%H:%M} ({self._tz})",
            )
        override = s.service_overrides.get(code)
        cap = capacity
        if override is not None:
            if override.get("issuing") is False:
                raise HallError("issuing_stopped", code)
            cap = min(capacity, override.get("cap", capacity))
        counter = s.counters.get(code, before_first) + 1
        if counter > last_number or s.issued.get(code, 0) >= cap:
            raise HallError("daily_cap_reached", code)
        channel = CHANNELS[cmd.channel]  # the interned word, as a replay's
        if channel != "normal":
            if channel == "green" and not svc.green_channel:
                raise HallError("green_not_allowed", code)
            if channel == "appointment":
                appt = s.appointments.get(cmd.appointment_code or "")
                if appt is None or appt["used"] or appt["day"] != s.day or appt["service"] != code:
                    raise HallError("unknown_appointment", cmd.appointment_code)
        id_hash = cmd.id_hash
        if svc.one_per_person and id_hash and id_hash in s.id_hashes.get(code, ()):
            raise HallError("already_has_ticket", code)
        number = number_text % counter
        data: dict[str, Any] = {
            "ticket": number,
            "service": code,
            "service_name": svc.name,
            "channel": channel,
            "counter": counter,
            "ahead": ahead_in_class(s.line(code), channel),
            "est_wait_min": self.eta.new_ticket_min(code, channel, at),
            "issued_at": self._local_second(now, at),
        }
        appointment = None
        if channel == "appointment":
            appointment = data["appointment_code"] = cmd.appointment_code
        if id_hash:
            data["id_hash"] = id_hash
            data["id_masked"] = cmd.id_masked
        if cmd.source:
            data["source"] = cmd.source
        # folded from its values (the replay reads the same from the event: state.fold_issued)
        fold_issued(s, number, code, channel, counter, at, id_hash, appointment)
        folded(s, at)
        self._emitted(out, "ticket.issued", data)
        out.result = data

    def on_book_appointment(
        self, cmd: c.BookAppointment, out: Outcome, now: datetime, at: float
    ) -> None:
        svc = self._service(cmd.service)
        day = cmd.day or self.state.day
        if day < self.state.day:
            raise HallError("bad_request", "appointment day is in the past")
        existing = self.state.appointments.get(cmd.code)
        if existing is not None and existing["used"]:
            raise HallError("unknown_appointment", "code already used")
        data = {"code": cmd.code, "service": svc.code, "day": day, "slot": cmd.slot}
        self._emit(out, "appointment.booked", data, at)
        out.result = data

    def on_rejoin(self, cmd: c.Rejoin, out: Outcome, now: datetime, at: float) -> None:
        t = self._ticket(cmd.ticket)
        if t.state != NO_SHOW or t.no_show_at is None:
            raise HallError("not_no_show", t.number)
        limit = self.config.calling.no_show_rejoin_min
        if limit is None or at - t.no_show_at > limit * 60:
            raise HallError("rejoin_expired", t.number)
        front = self.config.calling.rejoin_front
        self._emit(out, "ticket.rejoined", {**self._ticket_data(t), "front": front}, at)
        out.result = {"ticket": t.number, "ahead": ahead_of(self.state, t)}

    def on_reprint(self, cmd: c.Reprint, out: Outcome, now: datetime, at: float) -> None:
        t = self._ticket(cmd.ticket)
        ahead = ahead_of(self.state, t) if t.state == WAITING else 0
        data = {
            **self._ticket_data(t),
            "channel": t.channel,
            "ahead": ahead,
            "est_wait_min": self.eta.ticket_min(t.number, at) if t.state == WAITING else 0.0,
            "issued_at": datetime.fromtimestamp(t.issued_at, self._tz).isoformat(
                timespec="seconds"
            ),
        }
        if cmd.source:
            data["source"] = cmd.source  # routes it to the printer that serves this source
        self._emit(out, "ticket.reprint_requested", data, at)
        out.result = data

    # ---- windows ------------------------------------------------------------------------

    def _open_window_cmd(self, number: int, staff: str | None, out: Outcome, at: float) -> None:
        self._window(number)
        w = self.state.window(number)
        if staff is not None and staff not in self._staff:
            raise HallError("unknown_staff", staff)
        if w.status != "closed":
            raise HallError("window_open", str(number))
        chosen = staff or w.staff or self._windows[number].default_staff
        self._check_staff_free(chosen, number)
        self._emit(out, "window.opened", {"window": number, "staff": chosen}, at)
        if chosen:
            self._staff_changed(out, number, chosen, at)

    def _check_staff_free(self, staff: str | None, number: int) -> None:
        """One person serves at one window: refuse a second open window for them."""
        if staff is None:
            return
        for other, w in self.state.windows.items():
            if other != number and w.staff == staff and w.status != "closed":
                raise HallError(
                    "staff_busy",
                    f"{self.staff_name(staff)} ({staff}) is at window {other}; "
                    f"close it or move them first",
                )

    def staff_name(self, staff: str | None) -> str:
        person = self._staff.get(staff or "")
        return person.name if person is not None else (staff or "")

    def on_assign_staff(self, cmd: c.AssignStaff, out: Outcome, now: datetime, at: float) -> None:
        self._window(cmd.window)
        if cmd.staff is not None and cmd.staff not in self._staff:
            raise HallError("unknown_staff", cmd.staff)
        if self.state.window(cmd.window).status != "closed":
            self._check_staff_free(cmd.staff, cmd.window)
        self._staff_changed(out, cmd.window, cmd.staff, at)
        if cmd.staff is not None and cmd.staff in self.state.staff_on_duty:
            duty.on_check_in(self, out, cmd.staff, at)
        out.result = self._window_data(cmd.window)

    def _staff_changed(self, out: Outcome, number: int, staff: str | None, at: float) -> None:
        data: dict[str, Any] = {"window": number, "staff": staff}
        if staff:
            person = self._staff[staff]
            data.update(staff_name=person.name, staff_no=person.staff_no, role=person.role)
        self._emit(out, "window.staff_changed", data, at)

    def on_open_window(self, cmd: c.OpenWindow, out: Outcome, now: datetime, at: float) -> None:
        self._open_window_cmd(cmd.window, cmd.staff, out, at)
        out.result = self._window_data(cmd.window) | {"status": "open"}

    def on_close_window(self, cmd: c.CloseWindow, out: Outcome, now: datetime, at: float) -> None:
        self._window(cmd.window)
        w = self.state.window(cmd.window)
        if w.status == "closed":
            raise HallError("window_closed", str(cmd.window))
        finished = w.current
        if finished:
            self._finish(out, self.state.tickets[finished], at, None, auto=True)
        self._emit(out, "window.closed", {"window": cmd.window}, at)
        out.result = {"window": cmd.window, "status": "closed"}
        if finished:
            out.result["finished"] = finished  # the ticket in hand was finished: say so

    def on_pause_window(self, cmd: c.PauseWindow, out: Outcome, now: datetime, at: float) -> None:
        self._open_window_checked(cmd.window)
        self._emit(out, "window.paused", {"window": cmd.window, "reason": cmd.reason}, at)
        out.result = {"window": cmd.window, "status": "paused"}

    def _open_window_checked(self, number: int) -> None:
        if number not in self._windows:
            raise HallError("unknown_window", str(number))
        status = self.state.window(number).status
        if status == "closed":
            raise HallError("window_closed", str(number))
        if status == "paused":
            raise HallError("window_paused", str(number))

    def on_resume_window(self, cmd: c.ResumeWindow, out: Outcome, now: datetime, at: float) -> None:
        self._window(cmd.window)
        if self.state.window(cmd.window).status != "paused":
            raise HallError("window_not_paused", str(cmd.window))
        self._emit(out, "window.resumed", {"window": cmd.window}, at)
        out.result = {"window": cmd.window, "status": "open"}

    # ---- calling ------------------------------------------------------------------------

    def on_call_next(self, cmd: c.CallNext, out: Outcome, now: datetime, at: float) -> None:
        number = cmd.window
        self._open_window_checked(number)
        s = self.state
        current = s.windows[number].current
        in_hand = s.tickets.get(current) if current else None
        chosen = choose(s, number, self._window_services[number], self._rules[number])
        if chosen is None and in_hand is None:
            raise HallError("queue_empty", str(number))
        if in_hand is not None:
            # a keypad has no "finish" key: calling the next citizen ends the current one
            self._finish(out, in_hand, at, None, auto=True)
        if chosen is None:
            out.result = {"window": number, "ticket": None, "queue_empty": True}
            return
        t = s.tickets[chosen]
        data = self._ticket_at_window(t, number)
        data["channel"] = t.channel
        data["wait_s"] = round(at - t.waiting_since, 1)
        fold_called(s, t, number, data["window_name"], at)
        folded(s, at, number)
        self._emitted(out, "ticket.called", data)
        out.result = data

    def on_call_ticket(self, cmd: c.CallTicket, out: Outcome, now: datetime, at: float) -> None:
        self._open_window_checked(cmd.window)
        t = self._ticket(cmd.ticket)
        if t.state != WAITING:
            raise HallError("not_waiting", t.number)
        if t.service not in {svc for svc, _, _ in self._window_services[cmd.window]}:
            raise HallError("not_served_here", f"{t.number} → window {cmd.window}")
        w = self.state.window(cmd.window)
        if w.current:
            self._finish(out, self.state.tickets[w.current], at, None, auto=True)
        data = {**self._ticket_data(t), **self._window_data(cmd.window), "channel": t.channel}
        data.update(wait_s=round(at - t.waiting_since, 1), out_of_order=True, reason=cmd.reason)
        self._emit(out, "ticket.called", data, at)
        out.result = data

    def on_set_service_issuing(
        self, cmd: c.SetServiceIssuing, out: Outcome, now: datetime, at: float
    ) -> None:
        self._service(cmd.service)
        data = {"service": cmd.service, "issuing": cmd.issuing, "reason": cmd.reason}
        self._emit(out, "service.issuing_changed", data, at)
        out.result = data

    def on_set_service_cap(
        self, cmd: c.SetServiceCap, out: Outcome, now: datetime, at: float
    ) -> None:
        svc = self._service(cmd.service)
        data = {"service": cmd.service, "cap": cmd.cap, "configured": svc.capacity}
        self._emit(out, "service.cap_changed", data, at)
        out.result = data | {"issued": self.state.issued.get(cmd.service, 0)}

    def on_recall(self, cmd: c.Recall, out: Outcome, now: datetime, at: float) -> None:
        self._open_window_checked(cmd.window)
        t = self._current(cmd.window, CALLED, SERVING)
        if t.recalls >= self.config.calling.recall_cap:
            raise HallError("recall_cap_reached", t.number)
        data = self._ticket_at_window(t, cmd.window)
        data["count"] = t.recalls = t.recalls + 1  # the fold of ticket.recalled
        folded(self.state, at, cmd.window)
        self._emitted(out, "ticket.recalled", data)
        out.result = data

    def on_no_show(self, cmd: c.NoShow, out: Outcome, now: datetime, at: float) -> None:
        t = self._current(cmd.window, CALLED)
        limit = self.config.calling.no_show_rejoin_min
        data: dict[str, Any] = {**self._ticket_data(t), "window": cmd.window}
        if limit is not None:
            data["rejoin_until"] = datetime.fromtimestamp(at + limit * 60, self._tz).isoformat(
                timespec="seconds"
            )
        self._emit(out, "ticket.no_show", data, at)
        out.result = data

    def on_start_service(self, cmd: c.StartService, out: Outcome, now: datetime, at: float) -> None:
        t = self._current(cmd.window, CALLED)
        data = {**self._ticket_data(t), "window": cmd.window}
        self._emit(out, "ticket.serving", data, at)
        out.result = data

    def on_finish(self, cmd: c.Finish, out: Outcome, now: datetime, at: float) -> None:
        t = self._current(cmd.window, CALLED, SERVING)
        self._finish(out, t, at, cmd.case_no, auto=False)
        out.result = out.events[-1][1]

    def on_suspend(self, cmd: c.Suspend, out: Outcome, now: datetime, at: float) -> None:
        t = self._current(cmd.window, CALLED, SERVING)
        data = {**self._ticket_data(t), "window": cmd.window}
        self._emit(out, "ticket.suspended", data, at)
        out.result = data

    def on_call_back(self, cmd: c.CallBack, out: Outcome, now: datetime, at: float) -> None:
        self._open_window_checked(cmd.window)
        w = self.state.window(cmd.window)
        if w.current is not None:
            raise HallError("window_busy", w.current)
        if cmd.ticket is not None:
            t = self._ticket(cmd.ticket)
            if t.state != "suspended":
                raise HallError("not_suspended", t.number)
        else:
            if not w.suspended:
                raise HallError("not_suspended", f"window {cmd.window}")
            t = self.state.tickets[w.suspended[0]]
        base = {**self._ticket_data(t), **self._window_data(cmd.window)}
        self._emit(out, "ticket.called_back", dict(base), at)
        self._emit(out, "ticket.called", {**base, "channel": t.channel, "callback": True}, at)
        if t.served_at is not None:
            self._emit(out, "ticket.serving", {**self._ticket_data(t), "window": cmd.window}, at)
        out.result = base

    def on_transfer(self, cmd: c.Transfer, out: Outcome, now: datetime, at: float) -> None:
        t = self._current(cmd.window, CALLED, SERVING)
        target = self._service(cmd.service)
        if target.code == t.service:
            raise HallError("same_service", target.code)
        data = {
            **self._ticket_data(t),
            "window": cmd.window,
            "from_service": t.service,
            "to_service": target.code,
            "to_service_name": target.name,
            "front": cmd.front,
        }
        self._emit(out, "ticket.transferred", data, at)
        out.result = data | {"ahead": ahead_of(self.state, t)}

    # ---- evaluation ---------------------------------------------------------------------

    def _evaluation_target(self, window: int | None, ticket: str | None) -> Ticket:
        if ticket is not None:
            return self._ticket(ticket)
        if window is None:
            raise HallError("bad_request", "give a window or a ticket")
        self._window(window)
        w = self.state.window(window)
        for number in (w.current, w.last_finished):
            t = self.state.tickets.get(number) if number else None
            if t is not None and not t.evaluated:
                return t
        raise HallError("not_served", f"window {window} has no ticket to evaluate")

    def on_request_evaluation(
        self, cmd: c.RequestEvaluation, out: Outcome, now: datetime, at: float
    ) -> None:
        t = self._evaluation_target(cmd.window, None)
        if t.state not in (CALLED, SERVING, FINISHED):
            raise HallError("not_served", t.number)
        started = t.state == CALLED
        if started:
            self._emit(out, "ticket.serving", {**self._ticket_data(t), "window": cmd.window}, at)
        data = {**self._ticket_data(t), **self._window_data(cmd.window)}
        self._emit(out, "evaluation.requested", data, at)
        out.result = data | ({"started_service": True} if started else {})

    def on_evaluate(self, cmd: c.Evaluate, out: Outcome, now: datetime, at: float) -> None:
        t = self._evaluation_target(cmd.window, cmd.ticket)
        if t.state not in (CALLED, SERVING, FINISHED) or (
            t.state == FINISHED and t.served_at is None
        ):
            raise HallError("not_served", t.number)
        if t.evaluated:
            raise HallError("already_evaluated", t.number)
        level = parse_level(cmd.level)
        if level.bad and self.config.evaluation.require_reason_for_bad and not cmd.reason:
            raise HallError("reason_required")
        started = t.state == CALLED  # the citizen evaluates, so they did come to the window
        if started:
            self._emit(out, "ticket.serving", {**self._ticket_data(t), "window": t.window}, at)
        data = self._evaluation_data(t, at)
        data.update(
            level=level.value,
            level_name=level.name,
            label_zh=level.label_zh,
            evaluated=True,
            reason=cmd.reason,
            case_no=cmd.case_no or t.case_no,
            source=cmd.source,
            status="evaluated",
            channel=cmd.channel,
        )
        if cmd.scores is not None:
            data["scores"] = cmd.scores.model_dump(exclude_none=True)
        if cmd.item_code:
            data["item_code"] = cmd.item_code
        self._emit(out, "evaluation.recorded", data, at)
        if level.bad:
            self._emit(
                out,
                "alarm.raised",
                {
                    "alarm": f"bad_review:{t.number}",
                    "kind": "bad_review",
                    "scope": "day",
                    "ticket": t.number,
                    "window": t.window,
                    "level": level.value,
                    "message": f"差评 {level.label_zh}: {t.number}，需回访整改",
                },
                at,
            )
            case = cases.open_for_bad_review(self, out, t, data, now, at)
            if case:
                data = data | {"case": case}  # the answer names the case, for the follow-up
        # said, not silent: the evaluation also recorded that service had started
        out.result = data | ({"started_service": True} if started else {})

    def _evaluation_data(self, t: Ticket, at: float) -> dict[str, Any]:
        data = self._ticket_data(t)
        data["window"] = t.window
        if t.window is not None and self.state.window(t.window).staff:
            data["staff"] = self.state.window(t.window).staff
        return data

    # ---- staff, devices -----------------------------------------------------------------

    def on_staff_check_in(
        self, cmd: c.StaffCheckIn, out: Outcome, now: datetime, at: float
    ) -> None:
        self._staff_event("staff.checked_in", cmd.staff, cmd.device, cmd.time or now, out, at)
        result = out.result
        duty.on_check_in(self, out, cmd.staff, at)
        out.result = result

    def on_staff_check_out(
        self, cmd: c.StaffCheckOut, out: Outcome, now: datetime, at: float
    ) -> None:
        self._staff_event("staff.checked_out", cmd.staff, cmd.device, cmd.time or now, out, at)
        result = out.result
        duty.on_check_out(self, out, cmd.staff, at)
        out.result = result

    def _staff_event(
        self, type_: str, staff: str, device: str | None, when: datetime, out: Outcome, at: float
    ) -> None:
        person = self._staff.get(staff)
        if person is None:
            raise HallError("unknown_staff", staff)
        if when.tzinfo is None:
            when = when.replace(tzinfo=self._tz)
        data = {
            "staff": staff,
            "name": person.name,
            "staff_no": person.staff_no,
            "device": device,
            "time": when.astimezone(self._tz).isoformat(timespec="seconds"),
        }
        self._emit(out, type_, data, at)
        out.result = data

    def _device(self, device: str) -> None:
        if device not in self._devices:
            raise HallError("unknown_device", device)

    def on_device_status(self, cmd: c.DeviceStatus, out: Outcome, now: datetime, at: float) -> None:
        self._device(cmd.device)
        known = self.state.devices.get(cmd.device)
        if known is None or known["online"] != cmd.online:
            type_ = "device.online" if cmd.online else "device.offline"
            self._emit(out, type_, {"device": cmd.device, "detail": cmd.detail}, at)
        out.result = {"device": cmd.device, "online": cmd.online, "changed": bool(out.events)}

    def on_device_alarm(self, cmd: c.DeviceAlarm, out: Outcome, now: datetime, at: float) -> None:
        self._device(cmd.device)
        key = f"{cmd.device}:{cmd.alarm}"
        if (key in self.state.device_alarms) != cmd.active:
            data = {
                "device": cmd.device,
                "alarm": cmd.alarm,
                "active": cmd.active,
                "detail": cmd.detail,
            }
            self._emit(out, "device.alarm", data, at)
        out.result = {"device": cmd.device, "alarm": cmd.alarm, "active": cmd.active}

    def on_voice_announced(
        self, cmd: c.VoiceAnnounced, out: Outcome, now: datetime, at: float
    ) -> None:
        data = {
            "zone": cmd.zone,
            "ticket": cmd.ticket,
            "window": cmd.window,
            "window_name": self._window(cmd.window).display_name,
            "text": cmd.text,
            "audio_url": cmd.audio_url,
            "duration_s": cmd.duration_s,
            "trigger": cmd.trigger,
            "trigger_seq": cmd.trigger_seq,
        }
        self._emit(out, "voice.announced", data, at)
        out.result = data

    def on_set_notice(self, cmd: c.SetNotice, out: Outcome, now: datetime, at: float) -> None:
        data = {"zone": cmd.zone, "text": cmd.text.strip()}
        if self.state.notices.get(cmd.zone) != data["text"]:
            self._emit(out, "notice.changed", data, at)
        out.result = data

    # ---- time passing -------------------------------------------------------------------

    def on_tick(self, cmd: c.Tick, out: Outcome, now: datetime, at: float) -> None:
        s = self.state
        timeout = self.config.evaluation.timeout_s
        expired = []
        for number, since in s.pending_evaluations.items():
            if at - since < timeout:
                break  # kept in time order by the fold: the rest are younger
            expired.append(number)
        for number in expired:
            t = s.tickets.get(number)
            if t is not None and not t.evaluated and t.state == FINISHED:
                data = self._evaluation_data(t, at)
                data.update(
                    level=None,
                    level_name="not_evaluated",
                    label_zh="未评价",
                    evaluated=False,
                    status="timed_out",
                )
                self._emit(out, "evaluation.recorded", data, at)
        self._long_waits(out, at)
        if self.config.duty.enabled:
            duty.check(self, out, now, at)
        norms.check(self, out, now, at)
        cases.check_overdue(self, out, now, at)
        out.result = {"events": len(out.events)}

    # ---- supervision (电子监察) ------------------------------------------------------------

    def on_acknowledge_alarm(
        self, cmd: c.AcknowledgeAlarm, out: Outcome, now: datetime, at: float
    ) -> None:
        norms.acknowledge(self, cmd, out, now, at)

    def on_follow_up_case(
        self, cmd: c.FollowUpCase, out: Outcome, now: datetime, at: float
    ) -> None:
        cases.follow_up(self, cmd, out, now, at)

    def on_close_case(self, cmd: c.CloseCase, out: Outcome, now: datetime, at: float) -> None:
        cases.close(self, cmd, out, now, at)

    def on_record_report(self, cmd: c.RecordReport, out: Outcome, now: datetime, at: float) -> None:
        data = {"day": cmd.day, "period": "day", **cmd.summary, "files": cmd.files}
        self._emit(out, "report.daily", data, at)
        out.result = data

    def _long_waits(self, out: Outcome, at: float) -> None:
        """Raise and clear long-wait alarms; the cost follows what changed, not the line."""
        s = self.state
        for code, heap in s.wait_watch.items():
            limit = self._services[code].limit_wait_min
            while heap and at - heap[0][0] > limit * 60:
                _, number = heapq.heappop(heap)
                t = s.tickets.get(number)
                key = f"long_wait:{number}"
                if t is None or t.state != WAITING or t.service != code or key in s.alarms:
                    continue  # called since, or moved to another line (watched there)
                alarm = {
                    "alarm": key,
                    "kind": "long_wait",
                    "scope": "day",
                    "ticket": number,
                    "service": code,
                    "message": f"{number} 等候超过 {limit} 分钟",
                }
                self._emit(out, "alarm.raised", alarm, at)
        for number in sorted(s.long_wait_left):
            key = f"long_wait:{number}"
            t = s.tickets.get(number)
            if key in s.alarms and (t is None or t.state != WAITING):
                self._emit(out, "alarm.cleared", {"alarm": key, "kind": "long_wait"}, at)
        s.long_wait_left.clear()

    def on_ticket_eta(self, cmd: c.TicketEta, out: Outcome, now: datetime, at: float) -> None:
        t = self._ticket(cmd.ticket)
        waiting = t.state == WAITING
        out.result = {
            **self._ticket_data(t),
            "state": t.state,
            "ahead": ahead_of(self.state, t) if waiting else 0,
            "est_wait_min": self.eta.ticket_min(t.number, at) if waiting else None,
            "as_of": now.astimezone(self._tz).isoformat(timespec="seconds"),
        }

    def on_status(self, cmd: c.Status, out: Outcome, now: datetime, at: float) -> None:
        from hallctl.hall.views import status_summary

        out.result = status_summary(self, now)


def _stamp_actor(events: list[Event], by: str | None, via: str | None) -> None:
    """Who did it (`by`: staff id) and through what (`via`: web, cli, …), on every event the
    request caused, for supervision; the day rollover it may have triggered is nobody's act."""
    for type_, data in events:
        if type_ == "day.started":
            continue
        if by:
            data["by"] = by
        if via:
            data["via"] = via
