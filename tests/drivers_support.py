"""A hall with serial devices for the driver tests: the real engine on a real journal, the
runner, and simulated devices on real ptys (keypads, evaluator and ticket panel on one FF 68
line, text strips on another, a printer on its own port)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.codec.loader import load_profile
from hallctl.config import HallConfig, parse_config
from hallctl.drivers.serial_config import SerialSection
from hallctl.drivers.serial_devices import SerialDevices
from hallctl.engine import HallEngine
from hallctl.journal import Journal, Record
from hallctl.sim.printer import PrinterSim
from hallctl.sim.serial_devices import FF68Bus, TextStripSim

TZ = ZoneInfo("Asia/Shanghai")
DEVICES_DIR = Path(__file__).resolve().parent.parent / "devices"

HALL = """
version: 1
hall: {id: test-hall, name: 测试大厅, timezone: Asia/Shanghai}
services:
  - {code: BDC, name: 不动产登记, prefix: A}
  - {code: SB, name: 社保, prefix: B}
windows:
  - {number: 1, services: [BDC]}
  - {number: 2, services: [BDC, SB]}
staff:
  - {id: S1, name: 王芳, staff_no: "0101", windows: [1]}
  - {id: S2, name: 李强, staff_no: "0102", windows: [2]}
"""

# fast line timing: the tests wait on real ptys, not on production back-offs
FAST = {
    "gap_ms": 1, "timeout_ms": 100, "retries": 0, "reconnect_min_s": 0.05,
    "reconnect_max_s": 0.2,
}


# the same frame within this is a device's repeat; tests pause this long between presses of
# the same key (the production default, 800 ms, is for human hands)
REPEAT_WINDOW_S = 0.35  # > FF68Bus's 0.3 s repeat interval


def clock() -> datetime:
    return datetime(2026, 11, 25, 9, 30, tzinfo=TZ)


def section(tmp: Path, devices: list[dict[str, Any]], **lines: dict[str, Any]) -> SerialSection:
    """Lines `bus` and `led` on pty links in `tmp` (override or add with keyword arguments)."""
    cfg = {"bus": {**FAST}, "led": {**FAST}} | lines
    return SerialSection.model_validate(
        {
            "lines": [{"id": k, "port": str(tmp / f"tty-{k}"), **v} for k, v in cfg.items()],
            "devices": devices,
        }
    )


STANDARD_DEVICES: list[dict[str, Any]] = [
    {"id": "kp-1", "profile": "ff68-keypad", "line": "bus", "address": 1, "window": 1,
     "transfer_to": "SB"},
    {"id": "kp-2", "profile": "ff68-keypad", "line": "bus", "address": 2, "window": 2},
    {"id": "ev-1", "profile": "ff68-evaluator", "line": "bus", "address": 101, "window": 1},
    {"id": "panel", "profile": "ff68-ticket-panel", "line": "bus", "address": 200,
     "role": "dispenser", "buttons": {0: "BDC", 1: "SB"}, "printer": "prn"},
    {"id": "strip-1", "profile": "at-strip", "line": "led", "address": 1, "window": 1},
    {"id": "strip-2", "profile": "at-strip", "line": "led", "address": 2, "window": 2},
    {"id": "main", "profile": "at-strip", "line": "led", "address": 90, "role": "main_display"},
    {"id": "prn", "kind": "escpos", "port": "PRN", "default": True, "status_poll_s": 0.1,
     "status_timeout_ms": 100, "qr_url": "https://hall.example/t/{ticket}",
     "layout": {"paper_mm": 58, "footer": "过号请重新取号"}},
]


@dataclass
class Rig:
    engine: HallEngine
    devices: SerialDevices
    bus: FF68Bus
    led: TextStripSim
    printer: PrinterSim
    records: list[Record] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def do(self, action: str, **fields: Any) -> dict[str, Any]:
        response = await self.engine.execute({"action": action, "source": "test", **fields})
        assert response["ok"], response
        return response["result"]  # type: ignore[no-any-return]

    async def event(
        self, type_: str, where: Callable[[dict[str, Any]], bool] = lambda d: True,
        within: float = 3.0, after: int = 0,
    ) -> dict[str, Any]:
        """The first durable event of `type_` (seq > `after`) whose data satisfies `where`."""
        async with asyncio.timeout(within):
            while True:
                for rec in self.records:
                    if rec.seq > after and rec.type == type_:
                        data: dict[str, Any] = json.loads(rec.data)
                        if where(data):
                            return data | {"_request_id": rec.request_id, "_seq": rec.seq}
                self._changed.clear()
                await self._changed.wait()

    def events(self, type_: str) -> list[dict[str, Any]]:
        return [json.loads(r.data) for r in self.records if r.type == type_]


@contextlib.asynccontextmanager
async def rig(
    tmp: Path,
    devices: list[dict[str, Any]] | None = None,
    *,
    profile_dirs: list[Path] | None = None,
    bus_profile: str = "ff68-keypad",
    config: HallConfig | None = None,
    **lines: dict[str, Any],
) -> AsyncIterator[Rig]:
    devs = [dict(d) for d in (devices if devices is not None else STANDARD_DEVICES)]
    for d in devs:
        d.setdefault("repeat_window_ms", REPEAT_WINDOW_S * 1000)
        if d.get("port") == "PRN":
            d["port"] = str(tmp / "tty-prn")
    dirs = [*(profile_dirs or []), DEVICES_DIR]
    bus = FF68Bus(
        tmp / "tty-bus",
        load_profile(bus_profile, dirs),
        load_profile("ff68-evaluator"),
        keypads=[d["address"] for d in devs if d.get("line") == "bus" and "ev" not in d["id"]],
        evaluators=[d["address"] for d in devs if d["id"].startswith("ev")],
    )
    led = TextStripSim(tmp / "tty-led", load_profile("at-strip"))
    printer = PrinterSim(tmp / "tty-prn")
    for sim in (bus, led, printer):
        sim.start()
    serial_section = section(tmp, devs, **lines)
    # The hall knows its devices from its hall file: only those may report status and alarms.
    hall_config = (config or parse_config(HALL)).model_copy(update={"serial": serial_section})
    journal = Journal(tmp / "journal.db")
    engine = HallEngine(hall_config, journal, secret=b"k" * 32, clock=clock)
    engine.recover()
    writer = asyncio.create_task(engine.run())
    serial = SerialDevices(serial_section, engine, hall_config, dirs,
                           startup_grace_s=0.5)
    r = Rig(engine, serial, bus, led, printer)
    sub = engine.subscribe()

    async def collect() -> None:
        async for rec in sub:
            r.records.append(rec)
            r._changed.set()

    collector = asyncio.create_task(collect())
    try:
        async with serial:
            yield r
    finally:
        for task in (collector, writer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sub.close()
        journal.close()
        for sim in (bus, led, printer):
            sim.close()
