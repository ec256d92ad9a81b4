"""A kept forecast's refresh made a step at a time (docs/eta.md, "A refresh in steps").

A forward run on a 100-window hall is about 4 ms of Python: made inside the command that found
the kept forecast stale, it is one long stall of the event loop. When an edge offers to make
refreshes (``Estimator.wake``: it is called to ask for one), a command that finds the kept
forecast out of its ``REFRESH_S`` answers from it still (for at most ``GRACE_S`` more hall
seconds) and asks; the edge then calls ``Estimator.refresh_step`` once a loop pass until it says
done. Each step does at most ``STEP_UNITS`` windows' or calls' work (hall/eta.py).

The run reads the hall as it was when it started (a copy of the lines, the windows, the expected
arrivals and the service-time samples, taken in the first step), so it says what a run made in
one go at that moment would have said. Until it is done, the hall moves on:

- events the kept forecast foresees (calls, finishes, …) change nothing;
- a normal ticket issued meanwhile is remembered, and told to the new forecast when it is kept,
  as it would have been told had the new forecast been kept all along;
- anything else (an event the forecast cannot foresee) drops the run: the next command makes
  one in one go, as without an edge.

Which run answers a command now depends on when the edge finished it, not only on the commands
and their times: the estimate a ticket was printed with is journaled in its event, so a replay
never needs to say it again. Pure and synchronous: time is an input, the edge decides when.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from hallctl.hall.eta import Estimator, Refresh, _Run

_T = TypeVar("_T")

# hall seconds a kept forecast may serve beyond REFRESH_S while its refresh is being made (an
# edge that stopped stepping is then noticed: the command path makes its own run again)
GRACE_S = 300.0


def drain(steps: Generator[None, None, _T]) -> _T:
    """Run a step-wise computation to its end in one go: its result."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


class SteppedRefresh:
    """One refresh in progress: its run, the run's steps, and the normal tickets issued since
    it started (type, data, arrival order), for the new forecast."""

    __slots__ = ("at", "issued", "run", "steps")

    def __init__(self, est: Estimator, at: float) -> None:
        self.at = at
        self.run: _Run
        self.run, codes = est.refresh_run(at, pin=est.times.pin())
        self.steps: Generator[None, None, Refresh] = self.run.refresh_steps(codes)
        self.issued: list[tuple[str, dict[str, Any], int | None]] = []

    def step(self) -> Refresh | None:
        """One step: the run's result when it is done."""
        done, got = self.run.step(self.steps)
        if not done:
            return None
        self.run.close()
        return got  # type: ignore[no-any-return]

    def drop(self) -> None:
        self.steps.close()
        self.run.close()
