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


class ServiceTimeCache:
    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self._times: dict[tuple[str, str | None, int | None], tuple[int, ServiceTime]] = {}
        self._bases: dict[str, tuple[int, ServiceTime, float]] = {}
        self._staff: dict[str, tuple[tuple[int, float], tuple[int, float, float] | None]] = {}
        self._versions: dict[str, int] = {}
        self._seen = hall.state.samples_seen
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
        self._seen = self.hall.state.samples_seen
        self._versions.clear()
        self._times.clear()
        self._bases.clear()
        self._sorted.clear()

    def _version(self, service: str) -> int:
        if self.hall.state.samples_seen != self._seen:
            self.clear()
        return self._versions.get(service, 0)

    def service_time(
        self, service: str, staff: str | None = None, window: int | None = None
    ) -> ServiceTime:
        """The service's time, scaled by the staff's (or the window's) own pace."""
        key = (service, staff, window)
        version = self._version(service)
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
