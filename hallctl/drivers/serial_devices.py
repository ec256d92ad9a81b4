"""Wiring: the ``serial:`` section → line owners and drivers, run under one TaskGroup.

```python
devices = SerialDevices(config.serial, engine, config)   # builds now: bad config fails here
async with asyncio.TaskGroup() as tg:
    tg.create_task(devices.run())                        # or: async with devices: ...
```
One engine subscription feeds every driver: each durable record is decoded once and routed
by its ``window`` (keypads, evaluators, window strips) or to the hall-wide drivers (main
displays, printers). A driver that raises is logged and restarted with a backoff; nothing a
device does ends the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from hallctl.codec.frame import FrameDecoder
from hallctl.codec.loader import ProfileLoader
from hallctl.config.models import HallConfig
from hallctl.drivers.base import Driver, FramedDriver, HallPort, RequestIds
from hallctl.drivers.dispenser import DispenserDriver
from hallctl.drivers.evaluator import EvaluatorDriver
from hallctl.drivers.keypad import KeypadDriver
from hallctl.drivers.presence import Presence
from hallctl.drivers.printer import PrinterDriver
from hallctl.drivers.serial_config import SerialDevice, SerialSection, check, device_role
from hallctl.drivers.strip import MainDisplayDriver, WindowStripDriver
from hallctl.transports.serial import SerialLine, SerialLineConfig

log = structlog.get_logger("hallctl.drivers.serial")


class SerialConfigError(ValueError):
    """The serial section does not hold together; the message lists every problem."""


async def supervise(
    name: str,
    factory: Callable[[], Awaitable[None]],
    *,
    backoff_min: float = 0.5,
    backoff_max: float = 30.0,
) -> None:
    """Run `factory()` forever: an exception is logged and the coroutine started again."""
    backoff = backoff_min
    while True:
        started = time.monotonic()
        try:
            await factory()
            log.warning("driver.returned", driver=name)
        except Exception:
            log.exception("driver.crashed", driver=name, restart_in_s=backoff)
        if time.monotonic() - started > 60:
            backoff = backoff_min  # it ran fine for a while: this is a new failure
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, backoff_max)


class SerialDevices:
    def __init__(
        self,
        section: SerialSection,
        engine: HallPort,
        hall_config: HallConfig,
        profile_dirs: Sequence[Path] | None = None,
        *,
        startup_grace_s: float = 3.0,
    ) -> None:
        problems = check(section, hall_config, profile_dirs)
        if problems:
            raise SerialConfigError(
                "\n".join(".".join(str(p) for p in pr.path) + ": " + pr.message for pr in problems)
            )
        self.section = section
        self.engine = engine
        self.startup_grace_s = startup_grace_s
        self.ids = RequestIds()
        self.presence = Presence(engine, self.ids)
        self.lines: dict[str, SerialLine] = {}
        self.drivers: dict[str, Driver] = {}
        self._on_line: dict[str, list[Driver]] = {}
        self._by_window: dict[int, list[Driver]] = {}
        self._hall_wide: list[Driver] = []
        self._task: asyncio.Task[None] | None = None
        self._build(hall_config, ProfileLoader(profile_dirs))

    # -- building ---------------------------------------------------------------------------

    def _build(self, hall_config: HallConfig, loader: ProfileLoader) -> None:
        devices = [d for d in self.section.devices if d.enabled]
        for cfg in self.section.lines:
            framed = [d for d in devices if d.line == cfg.id and d.kind == "frame"]
            if not any(d.line == cfg.id for d in devices):
                continue  # nothing configured on it: do not hold the port open
            assert all(d.profile for d in framed)
            framer = FrameDecoder(loader.load(str(framed[0].profile))) if framed else None
            self._add_line(cfg, framer)
        for d in devices:
            if d.kind == "escpos" and d.port is not None:
                self._add_line(
                    SerialLineConfig(id=d.id, port=d.port, baudrate=d.baudrate, retries=1,
                                     timeout_ms=d.status_timeout_ms),
                    None,
                )
        for d in devices:
            line_id = d.line or d.id
            driver = self._make_driver(d, loader, self.lines[line_id], hall_config)
            self.drivers[d.id] = driver
            self._on_line[line_id].append(driver)
            if isinstance(driver, FramedDriver):
                driver.line.listen(driver.address, driver.on_frame)
            if d.window is not None and not isinstance(driver, PrinterDriver | DispenserDriver):
                self._by_window.setdefault(d.window, []).append(driver)
            elif isinstance(driver, MainDisplayDriver | PrinterDriver):
                self._hall_wide.append(driver)

    def _add_line(self, cfg: SerialLineConfig, framer: FrameDecoder | None) -> None:
        line = SerialLine(cfg, framer)
        line.availability.on_change = lambda dev, online, ln=line: self._tracked(ln, dev, online)
        self.lines[cfg.id] = line
        self._on_line[cfg.id] = []

        async def connected() -> None:
            for driver in self._on_line[cfg.id]:
                self.presence.set(driver.id, line.availability.is_online(driver.id))
                await driver.on_connected()

        async def disconnected() -> None:
            for driver in self._on_line[cfg.id]:
                self.presence.set(driver.id, False, "line down")

        line.on_connected.append(connected)
        line.on_disconnected.append(disconnected)

    def _tracked(self, line: SerialLine, device: object, online: bool) -> None:
        self.presence.set(str(device), online and line.connected,
                          None if online else "no answer")

    def _make_driver(
        self, d: SerialDevice, loader: ProfileLoader, line: SerialLine, hall: HallConfig
    ) -> Driver:
        if d.kind == "escpos":
            dispensers = frozenset(x.id for x in self.section.devices if x.printer == d.id)
            if hall.kiosks is not None:  # a kiosk's own printer prints its tickets
                dispensers |= {k.id for k in hall.kiosks.kiosks if k.printer == d.id}
            return PrinterDriver(d, line, self.engine, self.ids, hall_name=hall.hall.name,
                                 hall_id=hall.hall.id, dispensers=dispensers)
        assert d.profile is not None
        profile = loader.load(d.profile)
        role = device_role(d, profile)
        args = (d, profile, line, self.engine, self.ids)
        if role == "keypad":
            return KeypadDriver(*args)
        if role == "evaluator":
            return EvaluatorDriver(*args)
        if role == "dispenser":
            return DispenserDriver(*args)
        if role == "window_display":
            return WindowStripDriver(*args, templates=self.section.templates)
        if role == "main_display":
            return MainDisplayDriver(*args, templates=self.section.templates)
        raise SerialConfigError(f"{d.id}: no driver for role {role!r}")  # check() prevents it

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        subscription = self.engine.subscribe()  # registered now: no event slips past
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(supervise("presence", self.presence.run), name="serial-presence")
                tg.create_task(supervise("fanout", lambda: self._fanout(subscription)))
                for line_id, line in self.lines.items():
                    tg.create_task(supervise(f"line:{line_id}", line.run), name=f"line-{line_id}")
                    tg.create_task(self._startup_watch(line_id, line))
                for dev_id, driver in self.drivers.items():
                    tg.create_task(supervise(dev_id, driver.run), name=f"device-{dev_id}")
        finally:
            close = getattr(subscription, "close", None)
            if close is not None:
                close()

    async def _fanout(self, subscription: Any) -> None:
        async for record in subscription:
            data = json.loads(record.data)
            window = data.get("window")
            for driver in self._by_window.get(window, ()) if isinstance(window, int) else ():
                driver.notify(record.type, data)
            for driver in self._hall_wide:
                driver.notify(record.type, data)

    async def _startup_watch(self, line_id: str, line: SerialLine) -> None:
        """A port that is missing at start-up never disconnects: report its devices offline."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.startup_grace_s):
                await line.wait_connected()
            return
        for driver in self._on_line[line_id]:
            if not line.connected:
                self.presence.set(driver.id, False, "port unavailable")

    async def __aenter__(self) -> SerialDevices:
        self._task = asyncio.create_task(self.run(), name="serial-devices")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- looking in -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Per line: connection and decoder counters (bad frames by reason); per device."""
        return {
            "lines": {
                line_id: {
                    "connected": line.connected,
                    "connects": line.connects,
                    "decoder": dict(line.framer.stats) if line.framer is not None else {},
                    "bad_frames": line.framer.bad_frames() if line.framer is not None else 0,
                }
                for line_id, line in self.lines.items()
            },
            "devices": {dev_id: dict(d.counters) for dev_id, d in self.drivers.items()},
        }
