"""The edge that makes the wait forecast's refreshes a step at a time, between other work.

The hall core asks for a refresh (``Estimator.wake``) when a command finds the kept forecast
out of its time, and answers from it meanwhile; this task then makes the refresh one bounded
step a loop pass (hall/eta_steps.py), so a forward run is never one long stall of the loop
(docs/eta.md, "A refresh in steps"). It follows the engine's current hall (a rebuild makes a
new one), and when it stops the hall makes its refreshes in one go again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from hallctl.hall.core import Hall
from hallctl.pass_budget import PassBudget

RECHECK_S = 1.0  # how often an idle refresher looks whether the engine has a new hall


class ForecastRefresher:
    def __init__(
        self,
        hall: Callable[[], Hall],
        clock: Callable[[], datetime],
        budget: PassBudget | None = None,
    ) -> None:
        self._hall = hall
        self._clock = clock
        self._budget = budget or PassBudget(float("inf"))
        self._wake = asyncio.Event()

    async def run(self) -> None:
        est = None
        try:
            while True:
                est = self._hall().eta
                est.wake = self._wake.set
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RECHECK_S):
                        await self._wake.wait()
                self._wake.clear()
                if est is not self._hall().eta:
                    est.wake = None
                    continue
                more = True
                while more:
                    # A step is the door's work too: a step that opens a pass counts in that
                    # pass's budget, so the commands after it get the rest. It never waits in
                    # line: a refresh put off while commands keep coming is dropped more often
                    # (an unforeseen event), and past its grace a command makes it in one go.
                    self._budget.charge()
                    more = est.refresh_step(self._clock().timestamp())
                    await asyncio.sleep(0)  # one step a loop pass: a yield, not a wait
        finally:
            if est is not None:
                est.wake = None  # nobody steps any more: the hall makes its own runs


@contextlib.asynccontextmanager
async def refreshing(
    hall: Callable[[], Hall], clock: Callable[[], datetime], budget: PassBudget | None = None
) -> AsyncIterator[None]:
    """Forecast refreshes made in steps for as long as the block runs (each step within the
    door's ``budget`` of a loop pass, when given)."""
    task = asyncio.create_task(
        ForecastRefresher(hall, clock, budget).run(), name="forecast-refresh"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
