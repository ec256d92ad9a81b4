"""How much of one event-loop pass the door's commands may take; the rest wait in line.

A group commit wakes all its waiters in one pass (up to the hall's every window and kiosk), and
each goes straight on to its next command: parse, the core, its events' encoding, all
synchronous. Unchecked, one pass then holds a hundred commands and the loop answers nothing
else (a key press, a display, a probe) for several milliseconds. So the first command of a
pass opens a budget of wall time, closed again at the next pass (a callback scheduled now runs
before the work scheduled after it); a command that finds it spent, or anyone already waiting,
queues and goes on in a later pass, in the order it came. What is left in a pass is then the
budget, one command's overshoot and the other work of that pass.

A command that finds budget left pays one ``perf_counter`` call (a vDSO read, no system call)
and two attribute reads.
"""

from __future__ import annotations

import asyncio
from collections import deque
from time import perf_counter

# The door's command work a loop pass may hold, in seconds. A timer that comes due during a
# pass runs at the end of the next one, so the loop's longest stall is about two passes of work
# (issue 15's floor: 5 ms, on a VM whose idle loop alone is up to 3.7 ms late); a pass holds
# this budget, the command that overran it (0.03-0.3 ms) and the pass's other work (the
# writer's hand-out, a forecast step, a collection). 1 ms keeps two such passes near the floor
# and still lets a pass take 15-30 commands on a quiet core; the writer takes the put-off
# commands into the same batch (``through``), so batches stay as large. Each pass a command
# waits costs it a loop step (2-3 µs): a smaller budget costs a saturated engine more
# (docs/performance.md, "A 20,000-ticket day", session 6).
PASS_BUDGET_S = 0.001


class PassBudget:
    """The door's share of a loop pass: ``admit()`` or, if it says no, ``await turn()``."""

    __slots__ = ("_deadline", "_line", "_loop", "_seconds", "_taken", "_through")

    def __init__(self, seconds: float = PASS_BUDGET_S) -> None:
        self._seconds = seconds
        self._deadline: float | None = None  # None: no command has run in this pass yet
        self._loop: asyncio.AbstractEventLoop | None = None  # where the budget was opened
        self._line: deque[int] = deque()  # commands waiting for a later pass: their numbers
        self._taken = 0  # numbers handed out
        # waits for the line to move past a number (the writer's: ``through``), in order
        self._through: deque[tuple[int, asyncio.Future[None]]] = deque()

    def admit(self) -> bool:
        """May a command run now? False: the pass's budget is spent or others are waiting."""
        return not self._line and self._open()

    async def turn(self) -> None:
        """Wait in line for a pass with budget left (first come, first run)."""
        line = self._line
        self._taken = me = self._taken + 1
        line.append(me)
        try:
            while True:
                await asyncio.sleep(0)  # the next pass
                if line[0] == me and self._open():
                    return
        finally:
            if line[0] == me:
                line.popleft()
            else:  # cancelled while waiting: out of the line, its command never ran
                line.remove(me)
            through = self._through
            while through and (not line or line[0] > through[0][0]):
                done = through.popleft()[1]
                if not done.done():
                    done.set_result(None)

    def charge(self) -> None:
        """Other work of the door's that must not wait (a forecast step): if it is the pass's
        first, the pass's budget starts with it."""
        if self._deadline is None:
            self._start()

    @property
    def waiting(self) -> int:
        """Commands in line now."""
        return len(self._line)

    async def through(self) -> None:
        """Wait until the commands in line now have had their turn (or left the line)."""
        if self._line:
            done = asyncio.get_running_loop().create_future()
            self._through.append((self._line[-1], done))
            await done

    def _open(self) -> bool:
        deadline = self._deadline
        if deadline is None:
            self._start()
            return True
        return perf_counter() < deadline or self._stale()

    def _start(self) -> None:
        """The pass's first command: its budget starts now, and ends with the pass."""
        loop = asyncio.get_running_loop()
        self._deadline = perf_counter() + self._seconds
        self._loop = loop
        loop.call_soon(self._pass_over)

    def _stale(self) -> bool:
        """The budget was opened on another loop, whose end-of-pass never came (an engine
        used by one ``asyncio.run`` after another): a new one starts now."""
        if self._loop is asyncio.get_running_loop():
            return False
        self._start()
        return True

    def _pass_over(self) -> None:
        self._deadline = None
