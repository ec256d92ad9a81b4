"""Simulated people for the demo hall: citizens who take tickets and evaluate, staff who call.

Everything they do goes through the simulated devices' wires (FF 68 frames on the keypad line,
MQTT requests from a kiosk), never straight into the engine, so the demo exercises the same
paths as a real hall. They *read* the hall (queue lengths, the ticket at a window) from the
engine's state, as a person would look at the screens.

Time: one hall minute lasts ``DEMO_MINUTE_S / speed`` real seconds, so ``--speed 1`` already
compresses the day six times and a service of 6 minutes takes 60 s; ``--speed 30`` takes 2 s.
The hall core runs on the same ``ScaledClock`` (``demo_clock``), so the service times it measures
and the waits it estimates are hall minutes, like the ones the people here spend.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from typing import Any

import structlog

from hallctl.config.models import HallConfig
from hallctl.engine import HallEngine
from hallctl.hall.views import window_view
from hallctl.kiosk.sim import KioskSim
from hallctl.sim.clock import ScaledClock
from hallctl.sim.serial_devices import FF68Bus

log = structlog.get_logger(__name__)

DEMO_MINUTE_S = 10.0
# keypad keys of the ff68-keypad profile (devices/ff68-keypad.yaml)
KEY_EVALUATE, KEY_CALL, KEY_RECALL, KEY_CONFIRM = 0x0B, 0x0C, 0x0D, 0x0F
DIGIT_NO_SHOW = 6
# evaluator buttons → levels 5, 4, 3, 2 (devices/ff68-evaluator.yaml); most citizens are happy
EVAL_WEIGHTS = (70, 20, 7, 3)
# above the devices' repeat_window_ms (350 in hallctl/data/demo.yaml): a new press, not a repeat
SAME_DEVICE_GAP_S = 0.4
LOAD = 0.9  # arrivals as a share of what the open windows can serve
OPENING_RUSH = 2  # citizens per service already at the door when the hall opens
DEMO_OPENS = clock_time(8, 30)  # the demo's hall day starts here, whatever the real time


def demo_clock(config: HallConfig, speed: float) -> ScaledClock:
    """Hall time for the demo: today from 08:30, ``60 / minute_s`` times faster than real."""
    start = datetime.combine(date.today(), DEMO_OPENS, tzinfo=config.hall.tz)
    return ScaledClock(start, 60.0 * max(speed, 0.01) / DEMO_MINUTE_S)


@dataclass
class Activity:
    """What the simulated people did, for the view and the summary."""

    panel_presses: int = 0
    kiosk_tickets: int = 0
    kiosk_errors: int = 0
    unacked_presses: int = 0
    evaluator_presses: int = 0
    log: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        self.log.append(line)
        del self.log[:-8]


class Hands:
    """Presses on the FF 68 line, one device at a time, spaced so none reads as a repeat."""

    def __init__(self, bus: FF68Bus, activity: Activity) -> None:
        self.bus = bus
        self.activity = activity
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._last: dict[int, float] = {}

    async def _spaced(self, address: int, send: Any) -> bool:
        async with self._locks[address]:
            wait = self._last.get(address, 0.0) + SAME_DEVICE_GAP_S - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            ok = bool(await send())
            self._last[address] = time.monotonic()
        if not ok:
            self.activity.unacked_presses += 1
        return ok

    async def key(self, address: int, key: int, digit: int | None = None) -> bool:
        return await self._spaced(address, lambda: self.bus.press(address, key, digit))

    async def evaluate(self, address: int, button: int) -> bool:
        return await self._spaced(address, lambda: self.bus.evaluate(address, button))


class People:
    """Citizens arriving per service (Poisson) and the staff at every window."""

    def __init__(
        self,
        config: HallConfig,
        engine: HallEngine,
        hands: Hands,
        activity: Activity,
        *,
        panel_address: int,
        buttons: dict[str, int],
        keypads: dict[int, int],
        evaluators: dict[int, int],
        kiosks: list[KioskSim],
        clock: ScaledClock,
        seed: int | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.hands = hands
        self.activity = activity
        self.panel_address = panel_address
        self.buttons = buttons  # service → panel button
        self.keypads = keypads  # window → keypad address
        self.evaluators = evaluators  # window → evaluator address
        self.kiosks = kiosks
        self.clock = clock
        self.rng = random.Random(seed)
        self.avg_min = {s.code: float(s.avg_service_min or 8) for s in config.services}

    def arrival_rates(self) -> dict[str, float]:
        """Citizens per hall minute for each service: a share of what its windows can serve."""
        rates: dict[str, float] = defaultdict(float)
        for w in self.config.windows:
            codes = [ws.service for ws in w.services]
            for code in codes:
                rates[code] += LOAD / len(codes) / self.avg_min[code]
        return {code: rates[code] for code in self.buttons if rates.get(code)}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for code, rate in self.arrival_rates().items():
                tg.create_task(self._arrivals(code, rate), name=f"citizens-{code}")
            for window, address in self.keypads.items():
                tg.create_task(self._staff(window, address), name=f"staff-{window}")
            tg.create_task(self._evaluating(), name="evaluating-citizens")

    # ---- citizens -------------------------------------------------------------------------

    async def _arrivals(self, code: str, per_minute: float) -> None:
        for _ in range(OPENING_RUSH):
            await self._take_ticket(code)
        while True:
            await self.clock.sleep(self.rng.expovariate(per_minute) * 60.0)
            await self._take_ticket(code)

    async def _take_ticket(self, code: str) -> None:
        if self.kiosks and self.rng.random() < 0.25:
            kiosk = self.rng.choice(self.kiosks)
            try:
                answer = await kiosk.request("take_ticket", {"service": code}, timeout_s=5.0)
            except Exception as e:  # a lost kiosk request must not end the demo
                self.activity.kiosk_errors += 1
                log.warning("demo.kiosk_failed", kiosk=kiosk.kiosk_id, error=repr(e))
                return
            result = answer.get("result", answer)
            if answer.get("ok", True) and "ticket" in result:
                self.activity.kiosk_tickets += 1
                self.activity.note(f"kiosk {kiosk.kiosk_id}: {result['ticket']} {code}")
            else:
                self.activity.kiosk_errors += 1
            return
        self.activity.panel_presses += 1
        await self.hands.key(self.panel_address, self.buttons[code])

    async def _evaluating(self) -> None:
        """Citizens press the evaluator when it lights up (evaluation.requested)."""
        with self.engine.subscribe() as sub:
            async with asyncio.TaskGroup() as tg:
                async for rec in sub:
                    if rec.type == "evaluation.requested":
                        window = json.loads(rec.data).get("window")
                        if window in self.evaluators:
                            tg.create_task(self._evaluate(window))

    async def _evaluate(self, window: int) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 2.0))  # reading the buttons
        button = self.rng.choices(range(4), weights=EVAL_WEIGHTS)[0]
        self.activity.evaluator_presses += 1
        await self.hands.evaluate(self.evaluators[window], button)

    # ---- staff ----------------------------------------------------------------------------

    def _window(self, window: int) -> dict[str, Any]:
        return window_view(self.engine.hall, window)

    async def _staff(self, window: int, address: int) -> None:
        await asyncio.sleep(self.rng.uniform(0.2, 1.0))  # not all at the same instant
        while True:
            view = self._window(window)
            if view["status"] != "open" or view["waiting"] == 0:
                await asyncio.sleep(0.5)
                continue
            await self.hands.key(address, KEY_CALL)
            await asyncio.sleep(0.2)
            key = self.engine.hall.state.window(window).current
            current = self._window(window)["current"]
            if key is None or current is None:
                continue
            if self.rng.random() < 0.08:
                await self._no_show(address)
                continue
            minutes = self.avg_min.get(current["service"], 8.0) * self.rng.uniform(0.5, 1.5)
            await self.clock.sleep(minutes * 60.0)
            if self.rng.random() < 0.7:
                await self.hands.key(address, KEY_EVALUATE)
                await self._until_evaluated(key)

    async def _no_show(self, address: int) -> None:
        """Nobody comes: recall once or twice, then mark the ticket 过号."""
        for _ in range(self.rng.randint(1, 2)):
            await self.clock.sleep(self.rng.uniform(0.3, 1.0) * 60.0)
            await self.hands.key(address, KEY_RECALL)
        await self.clock.sleep(self.rng.uniform(0.3, 1.0) * 60.0)
        await self.hands.key(address, KEY_CONFIRM, DIGIT_NO_SHOW)

    async def _until_evaluated(self, key: str) -> None:
        # the citizen needs a moment; the next call would otherwise take the evaluator away.
        # A deadline, not asyncio.timeout + suppress(TimeoutError): on Python 3.11 a stop
        # (cancel) racing the time-out comes out as TimeoutError, is suppressed, and the demo
        # never stops.
        deadline = asyncio.get_running_loop().time() + 4.0
        while asyncio.get_running_loop().time() < deadline:
            t = self.engine.hall.state.tickets.get(key)
            if t is None or t.evaluated:
                return
            await asyncio.sleep(0.1)
