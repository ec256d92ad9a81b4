"""Service times for the wait estimate, kept between forward runs (hall/eta.py).

A forward run asks for the service time of every busy window and of every window a new ticket
could go to: a hundred-window hall asks about two hundred times a run. Working each out again
(sorting a service's 1,000 samples, a person's pace) made the run's set-up cost more than the
run. So they are kept, and made again only when what they are made of changes:

- A service's samples, and those of the people who serve it (taken with them), change only
  with a finish or a no-show of a ticket of that service (``state._occupancy``). Each service
  has its own version, so a finish of one leaves the others' times kept. Any other change of
  ``samples_seen`` (a transfer takes its sample from the old service; a state changed outside
  the fold) drops everything.
- A service's samples are kept sorted as they come (one insertion, one removal of the sample
  the full deque dropped), so a new summary does not sort 1,000 samples again.

Whatever is kept, a time equals the one worked out afresh (tests/hall/test_eta_run_cost.py).

A forward run made over several loop passes (hall/eta.py, ``Estimator.refresh_step``) reads its
service times as they were when it started, whatever finishes come meanwhile: it takes a
``SamplesPin`` (a copy of the samples, about 0.1 ms on a 100-window hall) and asks with it. A
service with no finish since the pin is answered from the cache as usual; one with a finish since
is worked out from the pin's copy, the same way (so equal to what the cache said at the pin).

Pure and synchronous: it reads the hall's state and the events the hall folds.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import TYPE_CHECKING, Any

from hallctl.hall.service_times import ServiceTime, server_key, staff_factor, staff_stats

if TYPE_CHECKING:
    from hallctl.hall.core import Hall

# events whose fold takes one service-time sample of their ticket's service (state._occupancy)
SAMPLED_BY = frozenset({"ticket.finished", "ticket.no_show"})

_Key = tuple[str, str | None, int | None]


class SamplesPin:
    """The service-time samples as they were at one moment (``seen``: the state's
    ``samples_seen`` then), for a run made over several passes; and what was worked out of them."""

    __slots__ = ("bases", "seen", "service", "staff", "times")

    def __init__(self, seen: int, service: dict[str, tuple[float, ...]],
                 staff: dict[str, tuple[float, ...]]) -> None:
        self.seen = seen
        self.service = service
        self.staff = staff
        self.bases: dict[str, ServiceTime] = {}
        self.times: dict[_Key, ServiceTime] = {}


class ServiceTimeCache:
    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self._times: dict[_Key, tuple[int, ServiceTime]] = {}
        self._bases: dict[str, tuple[int, ServiceTime, float]] = {}
        self._staff: dict[str, tuple[tuple[int, float], tuple[int, float, float] | None]] = {}
        self._versions: dict[str, int] = {}
        self._seen = hall.state.samples_seen
        self._cleared = self._seen  # samples_seen when everything kept was last dropped
        # service → (its positive samples, ascending; the deque's first sample and length when
        # they were last brought up to date)
        self._sorted: dict[str, tuple[list[float], float | None, int]] = {}

    def saw(self, type_: str, data: dict[str, Any]) -> None:
        """An event the hall folded (after the fold)."""
        s = self.hall.state
        if s.samples_seen == self._seen:
            return
        t = s.tickets.get(data.get("ticket", ""))
        if t is None or s.samples_seen != self._seen + 1 or type_ not in SAMPLED_BY:
            self.clear()
            return
        self._seen = s.samples_seen
        self._versions[t.service] = s.samples_seen
        kept = self._sorted.get(t.service)
        samples = s.service_samples.get(t.service)
        if kept is None or samples is None:
            return
        ordered, first, length = kept
        if len(samples) == length and first is not None and first > 0:  # full: one dropped
            del ordered[bisect_left(ordered, first)]
        if samples[-1] > 0:
            insort(ordered, samples[-1])
        self._sorted[t.service] = (ordered, samples[0], len(samples))

    def clear(self) -> None:
        """Samples changed in a way not tied to one service: everything kept is stale."""
        self._seen = self._cleared = self.hall.state.samples_seen
        self._versions.clear()
        self._times.clear()
        self._bases.clear()
        self._sorted.clear()

    def _version(self, service: str) -> int:
        if self.hall.state.samples_seen != self._seen:
            self.clear()
        return self._versions.get(service, 0)

    def pin(self) -> SamplesPin:
        """The samples as they are now, for a run that asks over several passes."""
        s = self.hall.state
        return SamplesPin(
            s.samples_seen,
            {code: tuple(xs) for code, xs in s.service_samples.items()},
            {key: tuple(xs) for key, xs in s.staff_samples.items()},
        )

    def service_time(
        self,
        service: str,
        staff: str | None = None,
        window: int | None = None,
        pin: SamplesPin | None = None,
    ) -> ServiceTime:
        """The service's time, scaled by the staff's (or the window's) own pace (``pin``: as
        its samples were then)."""
        key = (service, staff, window)
        version = self._version(service)
        if pin is not None and (version > pin.seen or self._cleared > pin.seen):
            return self._pinned(pin, key)
        cached = self._times.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        base, long_run = self._base(service, version)
        st = base
        if staff or window is not None:
            factor = staff_factor(
                self._staff_stats(server_key(staff, window or 0, service)), long_run
            )
            if factor != 1.0:
                st = base.scaled(factor)
        self._times[key] = (version, st)
        return st

    def _staff_stats(self, key: str) -> tuple[int, float, float] | None:
        """A person's samples change only with their own finish: their (count, sum) says when."""
        own = self.hall.state.staff_samples.get(key, ())
        version = (len(own), sum(own))
        cached = self._staff.get(key)
        if cached is None or cached[0] != version:
            cached = self._staff[key] = (version, staff_stats(list(own)))
        return cached[1]

    def _base(self, service: str, version: int) -> tuple[ServiceTime, float]:
        cached = self._bases.get(service)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        samples = self.hall.state.service_samples.get(service, ())
        kept = self._sorted.get(service)
        if kept is None:
            kept = (
                sorted(x for x in samples if x > 0),
                samples[0] if samples else None,
                len(samples),
            )
            self._sorted[service] = kept
        prior = self.hall.config.service(service).avg_service_min * 60.0
        base = ServiceTime.of(samples, prior, ordered=list(kept[0]))
        self._bases[service] = (version, base, base.long_run)
        return base, base.long_run

    def prepared(self, service: str, pin: SamplesPin | None) -> bool:
        """Whether the service's summary is kept (``pin``: as its samples were then; a kept
        one unchanged since the pin is kept in the pin too, so a finish later changes nothing)."""
        version = self._version(service)
        if pin is not None:
            if service in pin.bases:
                return True
            if version > pin.seen or self._cleared > pin.seen:
                return False
        cached = self._bases.get(service)
        if cached is None or cached[0] != version:
            return False
        if pin is not None:
            pin.bases[service] = cached[1]
        return True

    def prepare(self, service: str, pin: SamplesPin | None) -> None:
        """Make the service's summary now (a run made in steps gives it a step of its own)."""
        version = self._version(service)
        if pin is None:
            self._base(service, version)
        elif version > pin.seen or self._cleared > pin.seen:
            self._pinned(pin, (service, None, None))
        else:
            pin.bases[service] = self._base(service, version)[0]  # unchanged since the pin

    def _pinned(self, pin: SamplesPin, key: _Key) -> ServiceTime:
        """A time from the pin's copy of the samples: what ``service_time`` said at the pin."""
        got = pin.times.get(key)
        if got is not None:
            return got
        service, staff, window = key
        base = pin.bases.get(service)
        if base is None:
            samples = pin.service.get(service, ())
            prior = self.hall.config.service(service).avg_service_min * 60.0
            ordered = sorted(x for x in samples if x > 0)
            base = pin.bases[service] = ServiceTime.of(samples, prior, ordered=ordered)
        st = base
        if staff or window is not None:
            own = pin.staff.get(server_key(staff, window or 0, service), ())
            factor = staff_factor(staff_stats(list(own)), base.long_run)
            if factor != 1.0:
                st = base.scaled(factor)
        pin.times[key] = st
        return st
