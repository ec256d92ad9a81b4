"""The generic Modbus driver with the built-in profiles, against simulated units on a wire.

The hall is a small recorder implementing HallPort (requests in, events and retained state
out) until the real engine lands; the devices are pymodbus's server over a ``TimedWire``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hallctl.modbus.config import ModbusConfig
from hallctl.modbus.profile import load_profile
from hallctl.modbus.service import ModbusService
from hallctl.sim.modbus_devices import ModbusSim
from hallctl.sim.wire import TimedWire

EVAL, LED, DISP = (load_profile(n) for n in
                   ("modbus-evaluator", "modbus-led-display", "modbus-dispenser"))


@dataclass(frozen=True)
class Rec:
    type: str
    data: str


class Hall:
    """HallPort recorder: remembers requests, fans events out, serves retained state."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.state: dict[str, dict[str, Any]] = {}
        self._subs: list[asyncio.Queue[Rec]] = []

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self.requests.append(dict(request))
        return {"ok": True, "result": {}}

    async def _stream(self, q: asyncio.Queue[Rec]) -> AsyncIterator[Rec]:
        while True:
            yield await q.get()

    def subscribe(self) -> AsyncIterator[Rec]:
        q: asyncio.Queue[Rec] = asyncio.Queue()
        self._subs.append(q)
        return self._stream(q)

    def retained_state(self) -> dict[str, dict[str, Any]]:
        return self.state

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        for q in self._subs:
            q.put_nowait(Rec(type_, json.dumps(data)))

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["action"] == action]


async def until(check: Callable[[], Any], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def shows(sim: ModbusSim, unit: int, point: str, value: Any,
                timeout: float = 3.0) -> None:  # noqa: ASYNC109
    """Wait until the unit holds ``value`` for ``point`` (what a display shows)."""
    deadline = time.monotonic() + timeout
    while (now := await sim.get(unit, point)) != value:
        assert time.monotonic() < deadline, f"unit {unit} {point} shows {now!r}, not {value!r}"
        await asyncio.sleep(0.02)


def window5(ticket: str | None, staff: str | None = None) -> dict[str, Any]:
    return {"window": 5, "name": "5号窗口", "status": "open",
            "staff": {"id": "S005", "name": staff, "staff_no": "0105"} if staff else None,
            "current": {"ticket": ticket, "service": "BDC", "state": "called", "recalls": 0}
            if ticket else None,
            "waiting": 7}


class Bench:
    """A line of simulated units (evaluator 1, display 2, dispenser 3) and the service."""

    def __init__(self, hall: Hall, wire: TimedWire, sim: ModbusSim) -> None:
        self.hall, self.wire, self.sim = hall, wire, sim
        cfg = ModbusConfig.model_validate({
            "lines": [{"id": "l1", "port": wire.host_port, "baudrate": 19200, "timeout": 0.1,
                       "retries": 1, "fail_threshold": 2, "offline_backoff": 0.5}],
            "devices": [
                {"id": "eval-5", "profile": "modbus-evaluator", "line": "l1", "unit": 1,
                 "window": 5},
                {"id": "led-5", "profile": "modbus-led-display", "line": "l1", "unit": 2,
                 "window": 5},
                {"id": "disp-1", "profile": "modbus-dispenser", "line": "l1", "unit": 3,
                 "services": ["BDC", "GJJ"]},
            ],
        })
        self.service = ModbusService(cfg, hall)


async def with_bench(body: Callable[[Bench], Any], state: dict[str, Any] | None = None) -> None:
    hall = Hall()
    hall.state = state or {}
    with TimedWire(19200) as wire:
        async with ModbusSim({1: EVAL, 2: LED, 3: DISP}, serial_port=wire.device_port,
                             baudrate=19200) as sim:
            bench = Bench(hall, wire, sim)
            task = asyncio.create_task(bench.service.run())
            try:
                await until(lambda: len(hall.actions("device_status")) >= 3)
                await body(bench)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


async def test_each_device_reports_itself_online_to_the_hall() -> None:
    async def body(b: Bench) -> None:
        assert sorted((r["device"], r["online"]) for r in b.hall.actions("device_status")) == [
            ("disp-1", True), ("eval-5", True), ("led-5", True)]
    await with_bench(body)


async def test_an_evaluator_key_becomes_one_evaluate_request_and_the_latch_is_released() -> None:
    async def body(b: Bench) -> None:
        await b.sim.press(1, "key", 2)  # key 2 = level 4 (满意) in the built-in map
        await until(lambda: b.hall.actions("evaluate"))
        await asyncio.sleep(0.5)  # several more polls: the cleared latch must not repeat
        [req] = b.hall.actions("evaluate")
        assert (req["window"], req["level"]) == (5, 4)
        assert req["request_id"].startswith("modbus:eval-5:key:")
        assert await b.sim.get(1, "key") == 0
        await b.sim.press(1, "key", 5)
        await until(lambda: len(b.hall.actions("evaluate")) == 2)
        second = b.hall.actions("evaluate")[1]
        assert second["level"] == 1 and second["request_id"] != req["request_id"]
    await with_bench(body)


async def test_an_unmapped_key_is_ignored_but_still_released() -> None:
    async def body(b: Bench) -> None:
        await b.sim.press(1, "key", 9)
        await shows(b.sim, 1, "key", 0)
        assert b.hall.actions("evaluate") == []
    await with_bench(body)


async def test_a_dispenser_key_takes_a_ticket_for_its_service_and_only_its_coil_is_cleared(
) -> None:
    async def body(b: Bench) -> None:
        await b.sim.set_bit(3, "keys", 1, True)
        await until(lambda: b.hall.actions("take_ticket"))
        [req] = b.hall.actions("take_ticket")
        assert (req["service"], req["channel"], req["source"]) == ("GJJ", "normal", "disp-1")
        await shows(b.sim, 3, "keys", (False,) * 8)
        assert [(w.function_code, w.address) for w in b.sim.writes if w.unit == 3] == [(5, 1)]
    await with_bench(body)


async def test_evaluation_requested_for_its_window_lights_the_prompt_and_others_do_not() -> None:
    async def body(b: Bench) -> None:
        b.hall.emit("evaluation.requested", {"window": 6, "ticket": "A001"})
        b.hall.emit("evaluation.requested", {"window": 5, "ticket": "A012"})
        await shows(b.sim, 1, "prompt", 1)
        assert [w.values for w in b.sim.writes if w.unit == 1 and w.address == 1] == [(1,)]
        b.hall.emit("evaluation.recorded", {"window": 5, "level": 5})
        await shows(b.sim, 1, "prompt", 0)
    await with_bench(body)


async def test_the_display_shows_current_hall_state_on_connect_and_follows_events() -> None:
    async def body(b: Bench) -> None:
        await shows(b.sim, 2, "text", "A012")
        assert await b.sim.get(2, "number") == 12
        assert await b.sim.get(2, "window") == 5
        await shows(b.sim, 1, "staff_name", "王芳")  # 挂牌上岗 on the evaluator
        n = len(b.sim.writes)
        b.hall.state["state/windows/5"] = window5("A013", staff="王芳")
        b.hall.emit("ticket.called", {"window": 5, "ticket": "A013"})
        await shows(b.sim, 2, "number", 13)
        await asyncio.sleep(0.2)  # let any further (wrong) writes land before counting
        # only what changed is written: number and text, not window or waiting
        assert sorted(w.address for w in b.sim.writes[n:] if w.unit == 2) == [0, 16]
    await with_bench(body, {"state/windows/5": window5("A012", staff="王芳")})


async def test_after_a_display_comes_back_it_shows_the_state_it_missed() -> None:
    async def body(b: Bench) -> None:
        await until(lambda: any(w.unit == 2 for w in b.sim.writes))
        b.sim.dead.add(2)  # unplugged: a heartbeat poll times out within ~2 s
        await until(lambda: {"action": "device_status", "device": "led-5", "online": False}
                    in [{k: r[k] for k in ("action", "device", "online")}
                        for r in b.hall.actions("device_status")], timeout=6)
        b.hall.state["state/windows/5"] = window5("A020")
        b.hall.emit("ticket.called", {"window": 5, "ticket": "A020"})  # lost: it is away
        await asyncio.sleep(0.1)
        await b.sim.set(2, "number", 0)  # it lost power, too
        b.sim.dead.discard(2)
        await until(lambda: b.hall.actions("device_status")[-1]["online"] is True
                    and b.hall.actions("device_status")[-1]["device"] == "led-5", timeout=4)
        await shows(b.sim, 2, "number", 20)
        await shows(b.sim, 2, "text", "A020")
    await with_bench(body, {"state/windows/5": window5("A012")})
