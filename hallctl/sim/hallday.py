"""A hall day in virtual time: the real hall core against simulated citizens and staff.

Nothing sleeps and no device is involved: a heap of timed happenings (arrivals, services ending,
pauses, ticks) drives ``Hall.execute`` on a ``VirtualClock``, so a day takes seconds. Every
ticket keeps what it was told when it was issued (the estimator's minutes, and for comparison
the two reference estimates of issue 13) and when it was actually called.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from random import Random
from typing import Any

from hallctl.config.models import HallConfig
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from hallctl.hall.estimate import estimated_wait_min
from hallctl.sim.clock import VirtualClock
from hallctl.sim.scenario import Scenario

TICK_S = 60.0
DRAIN_S = 6 * 3600.0  # after the last arrival, windows serve the line for at most this long


@dataclass(slots=True)
class TicketRecord:
    number: str
    service: str
    channel: str
    issued_at: float
    ahead: int
    est_min: float  # what the ticket said (the estimator)
    baseline_min: float  # (a) people ahead × configured mean ÷ windows serving
    oracle_min: float  # (b) true mean service time, all-windows-busy formula
    old_min: float  # the estimator this one replaced (running average)
    called_at: float | None = None
    no_show: bool = False
    transferred: bool = False

    @property
    def wait_min(self) -> float | None:
        return None if self.called_at is None else (self.called_at - self.issued_at) / 60.0


@dataclass
class DayResult:
    scenario: Scenario
    config: HallConfig
    tickets: list[TicketRecord]
    refused: int
    busy_s: dict[int, float]
    open_s: dict[int, float]
    long_wait_alarms: int
    started: float
    ended: float


@dataclass(slots=True)
class _Window:
    number: int
    status: str = "closed"
    busy: str | None = None
    busy_since: float = 0.0
    opened_at: float = 0.0
    pause_pending: bool = False
    busy_s: float = 0.0
    open_s: float = 0.0


@dataclass(order=True, slots=True)
class _Happening:
    at: float
    seq: int
    kind: str = field(compare=False)
    arg: Any = field(compare=False, default=None)


class HallDay:
    def __init__(
        self,
        config: HallConfig,
        scenario: Scenario,
        *,
        estimate: bool = True,
        seed: int | None = None,
        hall: Hall | None = None,
        day: date | None = None,
    ) -> None:
        scenario.check(config)
        self.config = config
        self.scenario = scenario
        self.rng = Random(scenario.seed if seed is None else seed)
        self.tz = config.hall.tz
        # a hall passed in carries its history (service times, pauses) from earlier days
        self.day = day or date.fromisoformat(scenario.date)
        self.clock = VirtualClock(self._at(scenario.start) - timedelta(minutes=1))
        self.hall = hall or Hall(config)
        self.hall.eta.enabled = estimate
        self.windows = {w.number: _Window(w.number) for w in config.windows}
        self.records: dict[str, TicketRecord] = {}
        self.order: list[TicketRecord] = []
        self.refused = 0
        self.long_wait_alarms = 0
        self._heap: list[_Happening] = []
        self._seq = 0
        self._appointments = 0
        self._last_arrival = self._at(scenario.end).timestamp()

    # ---- plumbing -------------------------------------------------------------------------

    def _at(self, t: time) -> datetime:
        return datetime.combine(self.day, t, tzinfo=self.tz)

    def _schedule(self, at: float, kind: str, arg: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Happening(at, self._seq, kind, arg))

    def do(self, action: str, **fields: Any) -> dict[str, Any]:
        out = self.hall.execute(parse_command({"action": action, **fields}), self.clock())
        for type_, data in out.events:
            if type_ == "alarm.raised" and data.get("kind") == "long_wait":
                self.long_wait_alarms += 1
        return out.result

    def now(self) -> float:
        return self.clock.timestamp()

    # ---- the day --------------------------------------------------------------------------

    def run(self) -> DayResult:
        start = self.now()
        sc = self.scenario
        for code, plan in sc.services.items():
            if plan.max_rate() > 0:
                self._next_arrival(code, self._at(sc.start).timestamp())
        for n in self.windows:
            wp = sc.window(n)
            if wp.closed:
                continue
            self._schedule(self._at(wp.open or sc.start).timestamp(), "open", n)
            for p in wp.pauses:
                self._schedule(self._at(p.start).timestamp(), "pause", n)
                self._schedule(self._at(p.end).timestamp(), "resume", n)
            if wp.close:
                self._schedule(self._at(wp.close).timestamp(), "close", n)
        self._schedule(self._at(sc.start).timestamp(), "tick")
        # the core starts a new day at local midnight: the simulated day ends before it
        midnight = datetime.combine(self.day + timedelta(days=1), time(0, 0), tzinfo=self.tz)
        stop = min(self._last_arrival + DRAIN_S, midnight.timestamp() - 1.0)
        while self._heap:
            h = heapq.heappop(self._heap)
            if h.at > stop:
                break
            self.clock.advance_to(datetime.fromtimestamp(h.at, self.tz))
            getattr(self, "_on_" + h.kind)(h.arg)
            if h.kind == "tick" and h.at > self._last_arrival and self._drained():
                break
        end = self.now()
        for w in self.windows.values():
            if w.status == "open":
                w.open_s += end - w.opened_at
            if w.status != "closed":  # staff go home: the hall is ready for another day
                self.do("close_window", window=w.number)
                w.status = "closed"
        return DayResult(
            scenario=sc,
            config=self.config,
            tickets=self.order,
            refused=self.refused,
            busy_s={n: w.busy_s for n, w in self.windows.items()},
            open_s={n: w.open_s for n, w in self.windows.items()},
            long_wait_alarms=self.long_wait_alarms,
            started=start,
            ended=end,
        )

    def _drained(self) -> bool:
        lines = self.hall.state.lines.values()
        return all(w.busy is None for w in self.windows.values()) and not any(
            len(line) for line in lines
        )

    # ---- citizens -------------------------------------------------------------------------

    def _next_arrival(self, code: str, after: float) -> None:
        """Poisson with a rate that varies over the day (thinning against the peak rate)."""
        plan = self.scenario.services[code]
        peak = plan.max_rate()
        t = after
        while True:
            t += self.rng.expovariate(peak)
            if t >= self._last_arrival:
                return
            local = datetime.fromtimestamp(t, self.tz).time()
            if self.rng.random() * peak < plan.rate_at(local):
                self._schedule(t, "arrive", code)
                return

    def _on_arrive(self, code: str) -> None:
        self._next_arrival(code, self.now())
        plan = self.scenario.services[code]
        r = self.rng.random()
        channel = "normal"
        fields: dict[str, Any] = {}
        if r < plan.green_share:
            channel = "green"
        elif r < plan.green_share + plan.appointment_share:
            self._appointments += 1
            appt = f"SIM{self._appointments:05d}"
            self.do("book_appointment", code=appt, service=code)
            channel, fields = "appointment", {"appointment_code": appt}
        references = self._references(code, channel)
        try:
            result = self.do("take_ticket", service=code, channel=channel, **fields)
        except HallError:
            self.refused += 1
            return
        baseline, oracle, old = references(result["ahead"])
        rec = TicketRecord(
            number=result["ticket"],
            service=code,
            channel=channel,
            issued_at=self.now(),
            ahead=result["ahead"],
            est_min=result["est_wait_min"],
            baseline_min=baseline,
            oracle_min=oracle,
            old_min=old,
        )
        self.records[rec.number] = rec
        self.order.append(rec)
        for w in self.windows.values():
            self._try_call(w)

    def _references(self, code: str, channel: str) -> Any:
        """The comparison estimates, from the state just before the ticket is issued."""
        hall = self.hall
        serving = [n for n in hall.windows_serving[code] if hall.state.window(n).status == "open"]
        busy = sum(1 for n in serving if self.windows[n].busy is not None)
        c = len(serving)
        mean_s = self.scenario.services[code].service.mean_min * 60.0
        configured = self.config.service(code).avg_service_min

        def compute(ahead: int) -> tuple[float, float, float]:
            baseline = ahead * configured / max(1, c)
            n = busy + ahead
            oracle = 0.0 if c and n < c else (n - c + 1) * mean_s / max(1, c) / 60.0
            old = estimated_wait_min(hall, code, ahead)
            return baseline, oracle, old

        return compute

    # ---- staff ----------------------------------------------------------------------------

    def _try_call(self, w: _Window) -> None:
        if w.status != "open" or w.busy is not None:
            return
        try:
            result = self.do("call_next", window=w.number)
        except HallError as e:
            if e.code == "queue_empty":
                return
            raise
        number = result.get("ticket")
        if not number:
            return
        w.busy, w.busy_since = number, self.now()
        rec = self.records.get(number)
        if rec is not None and rec.called_at is None:
            rec.called_at = self.now()
        service = self.hall.state.tickets[number].service
        plan = self.scenario.services.get(service)
        if plan is None:
            self._schedule(self.now() + 60.0, "done", w.number)
            return
        if self.rng.random() < plan.no_show:
            self._schedule(self.now() + plan.no_show_wait_min * 60.0, "no_show", w.number)
            return
        self.do("start_service", window=w.number)
        pace = self.scenario.window(w.number).pace
        self._schedule(self.now() + plan.service.draw_s(self.rng) * pace, "done", w.number)

    def _free(self, w: _Window) -> None:
        w.busy_s += self.now() - w.busy_since
        w.busy = None
        if w.pause_pending:
            w.pause_pending = False
            self._pause(w)
        self._try_call(w)

    def _on_done(self, n: int) -> None:
        w = self.windows[n]
        number = w.busy
        if number is None:
            return
        service = self.hall.state.tickets[number].service
        plan = self.scenario.services.get(service)
        if plan and plan.transfer and self.rng.random() < plan.transfer.p:
            self.do("transfer", window=n, service=plan.transfer.to, front=False)
            if number in self.records:
                self.records[number].transferred = True
        else:
            self.do("finish", window=n)
        self._free(w)

    def _on_no_show(self, n: int) -> None:
        w = self.windows[n]
        if w.busy is None:
            return
        self.do("no_show", window=n)
        if w.busy in self.records:
            self.records[w.busy].no_show = True
        self._free(w)

    # ---- windows --------------------------------------------------------------------------

    def _on_open(self, n: int) -> None:
        w = self.windows[n]
        if w.status == "closed":
            self.do("open_window", window=n)
            w.status, w.opened_at = "open", self.now()
            self._try_call(w)

    def _pause(self, w: _Window) -> None:
        if w.status == "open":
            self.do("pause_window", window=w.number, reason="lunch")
            w.status = "paused"
            w.open_s += self.now() - w.opened_at

    def _on_pause(self, n: int) -> None:
        w = self.windows[n]
        if w.busy is not None:
            w.pause_pending = True  # staff finish the citizen in front of them first
        else:
            self._pause(w)

    def _on_resume(self, n: int) -> None:
        w = self.windows[n]
        w.pause_pending = False
        if w.status == "paused":
            self.do("resume_window", window=n)
            w.status, w.opened_at = "open", self.now()
            self._try_call(w)

    def _on_close(self, n: int) -> None:
        w = self.windows[n]
        if w.status == "closed":
            return
        if w.busy is not None:
            self._schedule(self.now() + 60.0, "close", n)
            return
        self.do("close_window", window=n)
        if w.status == "open":
            w.open_s += self.now() - w.opened_at
        w.status = "closed"

    def _on_tick(self, _: Any) -> None:
        self.do("tick")
        self._schedule(self.now() + TICK_S, "tick")
