"""Wait estimates by the hall's own rules: the calling policy played forward from now.

Deterministic and pure: a function of the hall's state and the time, nothing else. The method
(docs/eta.md explains it for a hall manager):

1. Every open window becomes free at a known time: now if it has nobody, otherwise when its
   citizen is expected to leave, given how long they have been there already
   (``ServiceTime.remaining``). Paused and closed windows serve nobody.
2. Repeatedly, the window that is free first calls the ticket the real calling policy
   (``policy.choose``: green channel, appointments, levels, ratios, waits) would pick from a
   shadow of the lines, and is busy for the expected service time of that service at that
   window (its staff's own pace where the history supports it).
3. Citizens still to come are added as they are expected: each service's and channel's rate over
   the last half hour, evenly spaced. They matter when they outrank someone already waiting (a
   green-channel arrival, a level-1 service at a shared window).
4. A hypothetical ticket ("ghost") taken now is called like any other but takes no window
   time, so one run answers "how long for a new ticket of each service" without the ghosts
   delaying each other.
5. Beyond ``MAX_CALLS`` calls the run stops, and the rest of a long line is extrapolated at the
   rate the run served that service.
6. A run is kept and reused while the hall goes as it foresaw (hall/eta_cache.py): a burst of
   tickets, the calls and finishes between them and every read of the retained state cost one
   run per ``REFRESH_S`` hall seconds, not one each.
7. A run is a generator of bounded steps (``_Run.steps``): made in one go by a command, or,
   when an edge offers, a step a loop pass while the kept run still answers (hall/eta_steps.py).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hallctl.hall.arrival_profile import SLOT_S, ArrivalProfile, slot_of
from hallctl.hall.eta_cache import FORESEEN, REFRESH_S, KeptForecast, wait_min
from hallctl.hall.eta_steps import GRACE_S, SteppedRefresh, drain
from hallctl.hall.policy import choose
from hallctl.hall.queue import Item, OrderedQueue
from hallctl.hall.service_time_cache import SamplesPin, ServiceTimeCache
from hallctl.hall.service_times import (
    GROUP_GRID,
    ServiceTime,
    first_finish_steps,
    pause_left,
)
from hallctl.hall.state import (
    CALLED,
    CHANNEL_CLASS,
    CLASSES,
    SERVING,
    HallState,
    ServiceLine,
    Ticket,
    Window,
)

if TYPE_CHECKING:
    from hallctl.hall.core import Hall

MAX_CALLS = 100
MAX_STEPS = 4 * MAX_CALLS
ARRIVAL_SPAN_S = 1800.0  # future arrivals at the rate of the last half hour
MIN_SPAN_S = 300.0
HORIZON_SLOTS = 16  # half hours of expected arrivals a run looks ahead
LEVEL_PRIOR = 10.0  # citizens' worth of "a usual day" in today's level against the profile
GHOST = "~"
_T = TypeVar("_T")


def ghost_key(service: str, channel: str) -> str:
    return f"{GHOST}{service}/{channel}"


@dataclass(frozen=True, slots=True)
class Forecast:
    """Expected call time (hall clock, epoch seconds) of every ticket and ghost asked about."""

    at: float
    calls: dict[str, float]

    def wait_min(self, key: str) -> float:
        return wait_min(self.calls[key], self.at)


@dataclass(frozen=True, slots=True)
class Refresh:
    """A run made for a kept forecast: what ``KeptForecast.keep`` takes."""

    at: float
    calls: dict[str, float]
    new: dict[str, float]
    slots: dict[str, float | None]
    followers: dict[str, list[tuple[float, float]] | None]


class _Stream:
    """Citizens of one service and channel still to come, evenly spaced in expected arrivals:
    the k-th comes when k citizens are expected, at a rate that may change over time
    (``segments``: (until, citizens per second), ascending; after the last, none)."""

    __slots__ = ("channel", "next", "segments", "service")

    def __init__(
        self, service: str, channel: str, start: float, segments: list[tuple[float, float]]
    ) -> None:
        self.service, self.channel, self.segments = service, channel, segments
        self.next = start
        self.advance()

    def advance(self) -> None:
        """Move ``next`` on by one expected citizen (to infinity when none are expected)."""
        t, need = self.next, 1.0
        for until, rate in self.segments:
            if until <= t:
                continue
            if rate > 0:
                if t + need / rate <= until:
                    self.next = t + need / rate
                    return
                need -= rate * (until - t)
            t = until
        self.next = math.inf


class _ShadowQueue(OrderedQueue):
    """A queue of the real line read from an offset, then the run's own tickets.

    Citizens still to come join lazily: one is made only when the queue has run dry and the
    next is due by the run's clock, since behind others they change nothing the policy sees.
    """

    __slots__ = ("base", "base_len", "ex_off", "extra", "off", "run", "stream")

    def __init__(self, base: OrderedQueue, run: _Run) -> None:
        super().__init__()
        self.base = base
        self.base_len = len(base)  # the real line does not change during a run
        self.off = 0
        self.extra: list[Item] = []
        self.ex_off = 0
        self.run: _Run | None = run  # None once the run is over (_Run.close)
        self.stream: _Stream | None = None

    def __bool__(self) -> bool:
        if self.off < self.base_len or self.ex_off < len(self.extra):
            return True
        s, run = self.stream, self.run
        if s is not None and run is not None and s.next <= run.now:
            run.add(s.service, s.channel, s.next, ghost=False)
            s.advance()
            return True
        return False

    def __len__(self) -> int:
        return self.base_len - self.off + len(self.extra) - self.ex_off

    def __getitem__(self, index: int) -> Item:
        if index != 0 or not self:
            raise IndexError(index)  # the policy only looks at the head
        if self.off < self.base_len:
            return self.base[self.off]
        return self.extra[self.ex_off]

    def pop_head(self) -> None:
        if self.off < self.base_len:
            self.off += 1
        else:
            self.ex_off += 1


class _Overlay(dict[str, Ticket]):
    """The real tickets, read-only, plus the run's own (ghosts and future arrivals)."""

    def __init__(self, real: dict[str, Ticket]) -> None:
        super().__init__()
        self.real = real

    def __missing__(self, key: str) -> Ticket:
        return self.real[key]


def arrival_rates(
    state: HallState, at: float, logs: Mapping[str, Sequence[tuple[float, str]]] | None = None
) -> dict[tuple[str, str], float]:
    """Citizens per second per (service, channel) over the last half hour of today (``logs``:
    the state's arrival logs as they were, for a run made in steps)."""
    rates: dict[tuple[str, str], float] = {}
    for code, log in (state.arrival_log if logs is None else logs).items():
        if not log:
            continue
        span = min(ARRIVAL_SPAN_S, max(MIN_SPAN_S, at - log[0][0]))
        counts: dict[str, int] = {}
        for when, channel in reversed(log):
            if at - when > span:
                break
            if when <= at:
                counts[channel] = counts.get(channel, 0) + 1
        for channel, n in counts.items():
            rates[(code, channel)] = n / span
    return rates


_View = tuple[float, int, list[float]]


@dataclass(frozen=True, slots=True)
class ArrivalInputs:
    """What the expected arrivals read of the hall that moves with each ticket, as it was:
    the arrival logs, the profile's keys and its counts of the current half hour."""

    logs: dict[str, tuple[tuple[float, str], ...]]
    keys: tuple[tuple[str, str], ...]
    current: dict[tuple[str, str], int]


def _profile_view(
    prof: ArrivalProfile, key: tuple[str, str], shifts: list[int], first: int, now: int
) -> _View:
    """Expected and seen today before this half hour, and expected from it on, per half hour."""
    mine = prof.counts.get(key, {})
    usual = sum(prof.expected(key, slot, shifts) for slot in range(first, now))
    seen = sum(mine.get(slot, 0) for slot in range(first, now))
    ahead = [prof.expected(key, slot, shifts) for slot in range(now, now + HORIZON_SLOTS)]
    return usual, seen, ahead


class Estimator:
    """Forecasts for one hall. The last forecast is kept and reused while the hall goes as it
    foresaw (hall/eta_cache.py); ``runs`` counts the forward runs made."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        # the command path's forecast: its reuse depends only on the commands and their times
        self._kept = KeptForecast()
        # the views' own when the command path's is stale, so that how often the retained
        # state is read never changes a number a command journals
        self._shown = KeptForecast(remember=False)
        self.runs = 0
        # An edge that makes refreshes a step at a time (hall/eta_steps.py) sets this: it is
        # called to ask for one. None: a command that finds the forecast stale makes it itself.
        self.wake: Callable[[], None] | None = None
        self._wanted: float | None = None  # a refresh asked for, not started yet
        self.making: SteppedRefresh | None = None
        # off only in simulations that study the line itself (a new ticket then says 0)
        self.enabled = True
        self.times = ServiceTimeCache(hall)
        # the arrival profile's view from the current half hour: (day, half hour) → per key
        self._profile: tuple[tuple[str, int], dict[tuple[str, str], _View]] = (("", 0), {})
        # what a run reads of the hall file's windows, made once (the file does not change)
        self.serves = {n: {code for code, _, _ in ss} for n, ss in hall._window_services.items()}
        self.skills = {n: tuple(ss) for n, ss in hall._window_services.items()}
        # per service, the windows that serve it, and those that serve it first, in file order
        self.serving: dict[str, list[int]] = {}
        self.first_serving: dict[str, list[int]] = {}
        for n, ss in hall._window_services.items():
            top = min((level for _, level, _ in ss), default=0)
            for code, level, _ in ss:
                if n not in self.serving.setdefault(code, []):
                    self.serving[code].append(n)
                firsts = self.first_serving.setdefault(code, [])
                if level == top and n not in firsts:
                    firsts.append(n)

    # ---- what callers ask ---------------------------------------------------------------

    def new_ticket_min(self, service: str, channel: str, at: float) -> float:
        """Minutes until a ticket of this service and channel taken now would be called."""
        if not self.enabled:
            return 0.0
        if channel != "normal":  # ahead of the normal line: rare, and the forecast is stale after
            key = ghost_key(service, channel)
            return self.forecast(at, ghosts=[(service, channel)], targets=[key]).wait_min(key)
        return wait_min(self._refreshed(self._kept, at).new_call(service), at)

    def ticket_min(self, number: str, at: float) -> float:
        """Minutes until this waiting ticket is expected to be called."""
        kept = self._refreshed(self._kept, at)
        t = self.hall.state.tickets.get(number)
        got = kept.call_of(number, t.service, t.order) if t is not None else None
        if got is None:
            got = self._behind_the_run(kept, number)
        if got is None:  # beyond the run and not in the normal line: its own run
            return self.forecast(at, targets=[number]).wait_min(number)
        return wait_min(got, at)

    def _behind_the_run(self, kept: KeptForecast, number: str) -> float | None:
        """A normal ticket beyond the run: a slot before a new ticket of its service per
        ticket behind it (as the run extrapolates the rest of a long line)."""
        t = self.hall.state.tickets.get(number)
        line = self.hall.state.lines.get(t.service) if t is not None else None
        if t is None or line is None or t.channel != "normal" or t.service not in kept.new:
            return None
        slot = kept.slot[t.service]
        if slot is None:
            return None
        q = line.queues["normal"]
        behind = len(q) - q.count_before(t.order) - 1 - kept.since.get(t.service, 0)
        return kept.new[t.service] - (behind + 1) * slot

    def services_min(self, at: float) -> dict[str, float]:
        """Minutes for a new normal ticket of every service, from the kept forecast."""
        kept = self._kept
        if not kept.fresh(at) and not self._extended(at):
            kept = self._refreshed(self._shown, at)
        return {s.code: wait_min(kept.new_call(s.code), at) for s in self.hall.config.services}

    def saw(self, type_: str, data: dict[str, Any]) -> None:
        """Every event the hall folds: those the forecast did not foresee make it stale."""
        order = None
        if type_ == "ticket.issued":
            t = self.hall.state.tickets.get(data.get("ticket", ""))
            order = t.order if t is not None else None
        self._kept.saw(type_, data, order)
        self._shown.saw(type_, data, order)
        self.times.saw(type_, data)
        making = self.making
        if making is not None and type_ not in FORESEEN:
            if type_ == "ticket.issued" and data.get("channel") == "normal":
                making.issued.append((type_, data, order))
            else:  # the run cannot foresee it: dropped (the next command makes its own)
                self._drop()

    # ---- a refresh made in steps (hall/eta_steps.py) --------------------------------------

    def _extended(self, at: float) -> bool:
        """Whether the command path's forecast still answers at ``at``, out of its time,
        because an edge is making its refresh in steps (asked for here if it is not yet)."""
        kept = self._kept
        if self.wake is None or not kept.valid or not (
            kept.made_at <= at < kept.made_at + REFRESH_S + GRACE_S
        ):
            return False
        if self.making is None and self._wanted is None:
            self._wanted = at
            self.wake()
        return True

    def refresh_step(self, at: float) -> bool:
        """One step of the refresh asked for (the first takes its inputs, ``at`` the hall time
        then): True while more steps remain."""
        making = self.making
        if making is None:
            if self._wanted is None:
                return False
            self.making = SteppedRefresh(self, max(at, self._wanted))
            self._wanted = None
            return True
        got = making.step()
        if got is None:
            return True
        self.making = None
        self.runs += 1
        kept = self._kept
        kept.keep(got.at, got.calls, got.new, got.slots, got.followers)
        for type_, data, order in making.issued:  # as the new forecast would have seen them
            kept.saw(type_, data, order)
        return False

    def _drop(self) -> None:
        if self.making is not None:
            self.making.drop()
            self.making = None
        self._wanted = None

    def _refreshed(self, kept: KeptForecast, at: float) -> KeptForecast:
        if kept is self._kept and not kept.fresh(at) and self._extended(at):
            return kept
        if not kept.fresh(at):
            if kept is self._kept:
                self._drop()  # this run is newer than the one being made
            run, codes = self.refresh_run(at)
            got = drain(run.refresh_steps(codes))
            run.close()
            self.runs += 1
            kept.keep(got.at, got.calls, got.new, got.slots, got.followers)
        return kept

    def refresh_run(self, at: float, pin: SamplesPin | None = None) -> tuple[_Run, list[str]]:
        """A run for a kept forecast at ``at`` (not made yet: ``refresh_steps`` makes it)."""
        codes = [s.code for s in self.hall.config.services]
        ghosts = [(code, "normal") for code in codes]
        run = _Run(self, at, ghosts, {ghost_key(code, "normal") for code in codes}, pin=pin)
        return run, codes

    # ---- citizens still to come ---------------------------------------------------------

    def arrival_inputs(self, at: float) -> ArrivalInputs:
        """A copy of what ``expected_arrivals`` reads that changes with each ticket."""
        s = self.hall.state
        prof, now = s.arrival_profile, slot_of(at)
        return ArrivalInputs(
            {code: tuple(log) for code, log in s.arrival_log.items()},
            tuple(prof.counts),
            {key: n for key, per in prof.counts.items() if (n := per.get(now, 0))},
        )

    def expected_arrivals(
        self, at: float, inputs: ArrivalInputs | None = None
    ) -> dict[tuple[str, str], list[tuple[float, float]]]:
        """Per (service, channel): the expected rate from now on, as (until, per second).

        With history, the profile of this weekday (hall/arrival_profile.py) half hour by half
        hour, scaled by how busy today has been against it so far; without, or for a service
        the profile did not expect today, the last half hour's rate from now on. (``inputs``:
        the hall as it was, for a run made in steps.)"""
        s = self.hall.state
        recent = arrival_rates(s, at, inputs.logs if inputs is not None else None)
        prof = s.arrival_profile
        shifts = prof.shifts(s.day) if s.day else []
        first = prof.days.get(s.day)
        now = slot_of(at)
        out: dict[tuple[str, str], list[tuple[float, float]]] = {}
        by_service: dict[str, list[tuple[str, str]]] = {}
        for key in (*(prof.counts if inputs is None else inputs.keys), *recent):
            keys = by_service.setdefault(key[0], [])
            if key not in keys:
                keys.append(key)
        if self._profile[0] != (s.day, now):
            self._profile = ((s.day, now), {})
        cache = self._profile[1]
        part = (at - now * SLOT_S) / SLOT_S  # of the current half hour, gone
        for keys in by_service.values():
            usual = seen = 0.0
            if shifts and first is not None:
                for key in keys:
                    got = cache.get(key)
                    if got is None:
                        got = cache[key] = _profile_view(prof, key, shifts, first, now)
                    usual += got[0] + got[2][0] * part
                    seen += got[1] + (
                        prof.counts.get(key, {}).get(now, 0)
                        if inputs is None
                        else inputs.current.get(key, 0)
                    )
            if usual <= 0:
                out.update((k, [(math.inf, r)]) for k in keys if (r := recent.get(k, 0.0)) > 0)
                continue
            level = (seen + LEVEL_PRIOR) / (usual + LEVEL_PRIOR)
            for key in keys:
                ahead = cache[key][2]
                if any(ahead):
                    out[key] = [
                        (float((now + i + 1) * SLOT_S), level * n / SLOT_S)
                        for i, n in enumerate(ahead)
                    ]
        return out

    # ---- service times ------------------------------------------------------------------

    def service_time(
        self, service: str, staff: str | None = None, window: int | None = None
    ) -> ServiceTime:
        """The service's time, scaled by the staff's (window's) pace; kept between runs."""
        return self.times.service_time(service, staff, window)

    # ---- the run ------------------------------------------------------------------------

    def forecast(
        self,
        at: float,
        *,
        ghosts: Iterable[tuple[str, str]] = (),
        targets: Collection[str] = (),
    ) -> Forecast:
        self.runs += 1
        run = _Run(self, at, list(ghosts), set(targets))
        forecast = run.run()
        run.close()
        return forecast


STEP_UNITS = 16  # a step of a stepped run does at most this many windows' (or calls') work
BASE_UNITS = 8  # a service's summary of its 1,000 samples, in windows' work

_Busy = tuple[float, int, ServiceTime, float, str]


class _Run:
    """One forward run. Its inputs are taken when it is made (the constructor): the lines, the
    windows and who is at them, the expected arrivals and, with a ``pin``, the service-time
    samples; so a run made step by step (``steps``) over several loop passes, while the hall
    moves on, says what it would have said made in one go at its start."""

    def __init__(
        self,
        est: Estimator,
        at: float,
        ghosts: list[tuple[str, str]],
        targets: set[str],
        *,
        pin: SamplesPin | None = None,
    ) -> None:
        hall = est.hall
        real = hall.state
        self.est = est
        self.hall = hall
        self.at = at
        self.targets = targets
        self.pin = pin
        self.now = at
        self.calls: dict[str, float] = {}
        self.served_calls: dict[str, int] = {}
        self.before_ghost: dict[str, tuple[int, float]] = {}  # ghost → (its service served, when)
        shadow = HallState(day=real.day)
        shadow.tickets = _Overlay(real.tickets)
        self.shadow = shadow
        self.queues: dict[tuple[str, str], _ShadowQueue] = {}
        for code in hall._services:
            self._line(code, copy=pin is not None)
        self.order = real.arrivals
        self._times: dict[tuple[str, int], ServiceTime] = {}
        for service, channel in ghosts:
            self.add(service, channel, at, ghost=True)
        # windows that can serve, and when each is free; the busy ones' set-up is a step's work
        self.heap: list[tuple[float, int]] = []
        self._busy: list[tuple[int, str, float]] = []  # (window, its citizen's service, elapsed)
        for n, services in hall._window_services.items():
            w = real.window(n)
            if w.status == "closed" or not services:
                continue
            shadow.windows[n] = Window(n, status="open", staff=w.staff, served=dict(w.served))
            free = at
            if w.status == "paused":  # back after a typical pause (this hall's own, once seen)
                free = at + pause_left(real.pause_samples, at - w.paused_at)
            t = real.tickets.get(w.current) if w.current else None
            if t is not None and t.state in (CALLED, SERVING) and t.called_at is not None:
                self._busy.append((n, t.service, at - t.called_at))
            heapq.heappush(self.heap, (free, n))
        self.serves = est.serves
        self._free: dict[int, float] | None = None  # when each window is free after the run
        self.credit: dict[int, float] = {}
        self.streams: list[_Stream] = []
        # made in a step of their own (a third of a millisecond on a large hall), from a copy
        self._arrivals = est.arrival_inputs(at) if pin is not None else None
        self.units = 0  # work done in the current step
        self.most_units = 0  # the most work any step did (tests/hall/test_eta_steps.py)
        self.step_count = 0

    def close(self) -> None:
        """Break the queues' references back to the run: a run is then freed as soon as it
        is dropped, not left as cyclic garbage for the collector (a hundred objects a run,
        thousands of runs a busy day; the collector's passes over them stall the loop)."""
        for q in self.queues.values():
            q.run = None

    def _line(self, code: str, copy: bool) -> None:
        base = self.hall.state.lines.get(code)
        sl = ServiceLine()
        for cls in CLASSES:
            if base is None:
                real = OrderedQueue()
            else:
                real = base.queues[cls].copy() if copy else base.queues[cls]
            q = _ShadowQueue(real, self)
            sl.queues[cls] = q
            self.queues[(code, cls)] = q
        self.shadow.lines[code] = sl

    def service_time(self, service: str, staff: str | None, window: int | None) -> ServiceTime:
        return self.est.times.service_time(service, staff, window, self.pin)

    def _time(self, service: str, window: int) -> ServiceTime:
        key = (service, window)
        st = self._times.get(key)
        if st is None:
            w = self.shadow.windows.get(window)
            st = self._times[key] = self.service_time(service, w.staff if w else None, window)
        return st

    def add(self, service: str, channel: str, when: float, ghost: bool) -> None:
        self.order += 1
        number = ghost_key(service, channel) if ghost else f"{GHOST}{self.order}"
        t = Ticket(number, service, channel, when, self.order, waiting_since=when)
        self.shadow.tickets[number] = t
        self.queues[(service, CHANNEL_CLASS[channel])].extra.append((self.order, number))

    # ---- made in steps ------------------------------------------------------------------
    # Each ``yield`` ends a step: a step does at most STEP_UNITS units of work, a unit being one
    # window's share of the set-up (its time left, its factor in a first finish, its slice) or
    # one call, and a service's summary of its history BASE_UNITS. Before each piece of work:
    # "if it does not fit in this step, yield", then the work, then it is counted. Made in one
    # go (``drain``), the same code gives the same numbers.

    def step(self, steps: Generator[None, None, Any]) -> tuple[bool, Any]:
        """One step of ``steps``: (done, its result when done)."""
        self.units = 0
        self.step_count += 1
        try:
            next(steps)
        except StopIteration as done:
            return True, done.value
        finally:
            self.most_units = max(self.most_units, self.units)
        return False, None

    def _counted(self, steps: Generator[None, None, _T]) -> Generator[None, None, _T]:
        """A window-by-window computation (first_finish_steps), a unit a window."""
        while True:
            if self.units >= STEP_UNITS:
                yield
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            self.units += 1

    def _set_up(self) -> Generator[None, None, None]:
        """The citizens still to come; the busy windows: when each is expected to be free."""
        at, est = self.at, self.est
        arrivals = (
            est.expected_arrivals(at)
            if self._arrivals is None  # in one go: read now (a bench may replace the method)
            else est.expected_arrivals(at, self._arrivals)
        )
        for (code, channel), segments in sorted(arrivals.items()):
            if code in self.hall._services and segments:
                stream = _Stream(code, channel, at, segments)
                self.queues[(code, CHANNEL_CLASS[channel])].stream = stream
                self.streams.append(stream)
        if self.pin is not None:
            yield
        # each service's summary of its history (1,000 samples): BASE_UNITS of work each
        for code in self.hall._services:
            if est.times.prepared(code, self.pin):
                continue
            if self.units + BASE_UNITS > STEP_UNITS:
                yield
            est.times.prepare(code, self.pin)
            self.units += BASE_UNITS
        busy: list[_Busy] = []
        for n, service, elapsed in self._busy:
            if self.units >= STEP_UNITS:
                yield
            st = self._time(service, n)
            busy.append((st.remaining(elapsed), n, st, elapsed, service))
            self.units += 1
        # Busy windows do not all finish at their mean: one of several finishes early.
        # - The first finish is expected at ∫ P(every busy window still busy at t) dt, from each
        #   one's own distribution of the time left (service_times.first_finish).
        # - The k-th likeliest to finish first otherwise gets the mean of the k-th slice of its
        #   own remaining-time distribution, so the run's first calls come as often as they do.
        # - Interchangeable windows (the same skills, the same service now) whose service
        #   times vary as much as an exponential's (cv² = 1) finish as a steady stream, one
        #   every mean ÷ their number, after the first: for cv² < 1 a blend by cv².
        # After that every window is played with mean service times; with several windows their
        # finishes interleave, and a window then serves on average cv²/2 of a service more by
        # any time than a mean-time run says: that much comes off its next one (less the part
        # the steady stream already accounts for).
        busy.sort()
        frees = dict((n, f) for f, n in self.heap)
        spread = (len(busy) - 1) / len(busy) if busy else 0.0
        residuals = []
        for b in busy:
            if self.units >= STEP_UNITS:
                yield
            residuals.append(b[2].residual(b[3], b[0]))
            self.units += 1
        first = (yield from self._counted(first_finish_steps(residuals))) if busy else 0.0
        groups: dict[tuple[object, str], list[int]] = {}  # interchangeable busy windows
        skills = self.est.skills
        for k, b in enumerate(busy):
            groups.setdefault((skills[b[1]], b[4]), []).append(k)
        stagger: dict[int, float] = {}
        for ks in groups.values():
            if len(ks) < 2:
                continue
            members = [busy[k] for k in ks]
            g_first = yield from self._counted(
                first_finish_steps([residuals[k] for k in ks], GROUP_GRID)
            )
            gap = 1.0 / sum(1.0 / b[2].mean_s for b in members)
            for j, k in enumerate(ks):
                stagger[k] = g_first + j * gap
        for k, (_, n, st, elapsed, _) in enumerate(busy):
            if self.units >= STEP_UNITS:
                yield
            sliced = first if k == 0 else st.remaining_slice(elapsed, k, len(busy))
            share = min(st.cv2, 1.0) if k in stagger else 0.0
            left = (1 - share) * sliced + share * stagger.get(k, 0.0)
            frees[n] = max(frees[n], at + left)
            self.credit[n] = (1 - share) * spread * min(st.cv2, 1.0) * st.mean_s / 2
            self.units += 1
        self.heap = sorted((f, n) for n, f in frees.items())

    def steps(self) -> Generator[None, None, Forecast]:
        """The run, a step at a time: its forecast of the targets."""
        yield from self._set_up()
        hall, shadow, calls = self.hall, self.shadow, 0
        pending = set(self.targets)
        steps = 0
        now = self.at
        while self.heap and pending and calls < MAX_CALLS and steps < MAX_STEPS:
            if self.units >= STEP_UNITS:
                yield
            self.units += 1  # (counted first: the loop has several ends)
            steps += 1
            now, n = heapq.heappop(self.heap)
            self.now = now
            number = choose(shadow, n, hall._window_services[n], hall._rules[n])
            if number is None:
                mine = [s.next for s in self.streams if s.service in self.serves[n]]
                if mine and min(mine) < math.inf:  # idle until someone it serves comes
                    heapq.heappush(self.heap, (max(now, min(mine)), n))
                continue
            t = shadow.tickets[number]
            self.queues[(t.service, CHANNEL_CLASS[t.channel])].pop_head()
            self.calls[number] = now
            pending.discard(number)
            if number.startswith(GHOST) and "/" in number:
                self.before_ghost[number] = (self.served_calls.get(t.service, 0), now)
                heapq.heappush(self.heap, (now, n))  # a ghost takes no window time
                continue
            calls += 1
            w = shadow.windows[n]
            w.served[t.service] = w.served.get(t.service, 0) + 1
            self.served_calls[t.service] = self.served_calls.get(t.service, 0) + 1
            st = self._time(t.service, n)
            heapq.heappush(self.heap, (now + st.mean_s - self.credit.pop(n, 0.0), n))
        for key in pending:
            self.calls[key] = self._extrapolate(key, now)
        return Forecast(self.at, {k: v for k, v in self.calls.items() if k in self.targets})

    def run(self) -> Forecast:
        return drain(self.steps())

    def refresh_steps(self, codes: list[str]) -> Generator[None, None, Refresh]:
        """The run for a kept forecast (ghosts of every service's normal ticket), a step at a
        time: what ``KeptForecast.keep`` takes."""
        yield from self.steps()
        new = {code: self.calls[ghost_key(code, "normal")] for code in codes}
        slots = {code: self.slot(code) for code in codes}
        followers: dict[str, list[tuple[float, float]] | None] = {}
        for code in codes:
            if slots[code] is None:
                windows = len(self.est.serving.get(code, ()))
                if self.units and self.units + windows > STEP_UNITS:
                    yield
                self.units += windows
                followers[code] = self.followers(code)
        return Refresh(self.at, self.calls, new, slots, followers)

    def slot(self, service: str) -> float | None:
        """Seconds per citizen of this service behind a new ticket of it: the rate the run
        served its line until that ticket was called (None if it served too few to tell)."""
        windows = self.shadow.windows
        serving = [n for n in self.est.serving.get(service, ()) if n in windows]
        served, until = self.before_ghost.get(
            ghost_key(service, "normal"), (self.served_calls.get(service, 0), self.now)
        )
        if served >= max(1, len(serving)) and until > self.at:
            return (until - self.at) / served
        return None

    def followers(self, service: str) -> list[tuple[float, float]] | None:
        """For a short line: (free at, mean service time) of each open window that serves this
        service first (all that serve it if none does), when the run ended. New tickets of it
        take them in turn. None when citizens are expected to come ahead of it (green channel,
        appointments): this cannot say when."""
        if any(
            st.service == service and CHANNEL_CLASS[st.channel] != "normal" and st.next < math.inf
            for st in self.streams
        ):
            return None
        if self._free is None:
            self._free = {n: f for f, n in self.heap}
        free = self._free
        windows = self.shadow.windows
        serving = [n for n in self.est.serving.get(service, ()) if n in windows]
        if not serving:  # nobody can say when one opens: as many as are configured, from now
            mean = self.service_time(service, None, None).mean_s
            configured = max(1, len(self.hall.windows_serving.get(service, ())))
            return [(self.at + mean / configured, mean / configured)]
        first = [n for n in self.est.first_serving.get(service, ()) if n in windows]
        out = [(free.get(n, self.now), self._time(service, n).mean_s) for n in first or serving]
        heapq.heapify(out)
        return out

    def _extrapolate(self, key: str, end: float) -> float:
        """A target the run did not reach: the rest of its line at the rate the run served."""
        try:
            t = self.shadow.tickets[key]
        except KeyError:
            return end
        cls = CHANNEL_CLASS[t.channel]
        ahead = 0
        for c in CLASSES:
            q = self.queues.get((t.service, c))
            if q is None:
                continue
            if c == cls:
                ahead += max(0, q.base.count_before(t.order) - q.off)
                ahead += sum(1 for order, _ in q.extra[q.ex_off :] if order < t.order)
                break
            ahead += len(q)
        served = self.served_calls.get(t.service, 0)
        if served and end > self.at:
            return end + (ahead + 1) * (end - self.at) / served
        windows = sum(
            1
            for n in self.shadow.windows
            if any(code == t.service for code, _, _ in self.hall._window_services[n])
        )
        mean = self.service_time(t.service, None, None).mean_s
        if windows == 0:
            # No window that serves it is open: nobody can say when one opens, so the estimate
            # is the wait once one does (from now), not the end of a run of the other lines,
            # which printed "about 1,200 minutes" on tickets before the windows opened.
            configured = len(self.hall.windows_serving.get(t.service, ()))
            return self.at + (ahead + 1) * mean / max(1, configured)
        return end + (ahead + 1) * mean / max(1, windows)
