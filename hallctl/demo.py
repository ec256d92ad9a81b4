"""``hallctl demo``: the hall of hallctl/data/demo.yaml on simulated devices, in one process.

The simulators own real pseudo-terminals at the ports the hall file names, so the daemon opens
and drives them exactly as it would real RS-485 adapters. Simulated citizens and staff press
keys on those wires (and use kiosks over MQTT when a broker is there); the view reads back what
the strips and the printer received.

The demo lives in its own directory (``$HALLCTL_DEMO_DIR``, default
``~/.local/state/hallctl/demo``): the journal, the pty links. A lock there makes a second demo
refuse instead of wiping the first one's data, and SIGHUP, SIGTERM and SIGINT all end the demo
through the same clean shutdown (pty links removed, the embedded Mosquitto stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from hallctl.codec.loader import load_profile
from hallctl.config.models import HallConfig
from hallctl.daemon import Daemon
from hallctl.demo_pages import page_urls, staff_logins
from hallctl.demo_view import DemoView, PrinterReader
from hallctl.drivers.serial_config import SerialDevice, SerialSection, device_role
from hallctl.engine import HallEngine
from hallctl.kiosk.sim import KioskSim
from hallctl.sim.citizens import Activity, Hands, People, demo_clock
from hallctl.sim.printer import PrinterSim
from hallctl.sim.serial_devices import FF68Bus, TextStripSim

log = structlog.get_logger("hallctl.demo")

# package data, so that `hallctl demo` works from an installed wheel too
DEMO_CONFIG = Path(__file__).resolve().parent / "data" / "demo.yaml"
READY_TIMEOUT_S = 30.0
STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


class DemoBusy(Exception):
    """Another demo holds the demo directory."""


def demo_dir(env: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    if env.get("HALLCTL_DEMO_DIR"):
        return Path(env["HALLCTL_DEMO_DIR"]).resolve()
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "hallctl" / "demo"


@contextlib.contextmanager
def demo_lock(workdir: Path) -> Iterator[None]:
    """One demo per directory; the kernel drops the lock when its holder dies, even by kill -9."""
    workdir.mkdir(parents=True, exist_ok=True)
    fd = os.open(workdir / "demo.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise DemoBusy(
                f"another hallctl demo (pid {holder}) is running in {workdir}; stop it first, "
                "or give this one its own directory with HALLCTL_DEMO_DIR"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def run_demo(
    speed: float = 1.0, duration: float | None = None, ui: bool = True, modbus: bool = False
) -> int:
    from hallctl.logging import configure_logging

    # warnings only, on stderr: info lines would scroll the live view away
    configure_logging("warning", json=False)
    if ui and not sys.stdout.isatty():
        ui = False  # a pipe or a file gets plain lines, not cursor movements
    workdir = demo_dir()
    try:
        with demo_lock(workdir):
            return asyncio.run(_demo(speed, duration, ui, modbus, workdir))
    except DemoBusy as e:
        print(f"hallctl demo: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C while shutting down
        return 130


def _demo_config(path: Path, mqtt_url: str | None, workdir: Path) -> HallConfig:
    """The hall file with data_dir and the simulator's ports under `workdir`, and the MQTT URL
    chosen here."""
    from hallctl.config import parse_config

    # env given explicitly: HALLCTL_DATA_DIR must not move the directory this demo wipes
    cfg = parse_config(path.read_text(encoding="utf-8"), str(path), env={}, base=workdir)
    base = workdir

    def resolved(port: str) -> str:
        # abspath, not resolve(): a link left by a killed demo must not be followed to its pty
        return os.path.abspath(base / port) if not Path(port).is_absolute() else port

    serial = cfg.serial
    if serial is not None:
        serial = serial.model_copy(
            update={
                "lines": [ln.model_copy(update={"port": resolved(ln.port)}) for ln in serial.lines],
                "devices": [
                    d.model_copy(update={"port": resolved(d.port)}) if d.port else d
                    for d in serial.devices
                ],
            }
        )
    if mqtt_url is None or cfg.mqtt is None:
        # kiosks talk MQTT only: without a broker they would just be warned about
        return cfg.model_copy(update={"serial": serial, "mqtt": None, "kiosks": None})
    mqtt = cfg.mqtt.model_copy(update={"url": mqtt_url})
    return cfg.model_copy(update={"serial": serial, "mqtt": mqtt})


class Sims:
    """The device simulators of the hall file's serial section, one per line / port."""

    def __init__(self, section: SerialSection) -> None:
        self.section = section
        lines = {ln.id: Path(ln.port) for ln in section.lines}
        profiles = {d.profile for d in section.devices if d.profile}
        loaded = {name: load_profile(name) for name in profiles}
        by_line: dict[str, list[SerialDevice]] = {ln: [] for ln in lines}
        for d in section.devices:
            if d.line is not None and d.enabled:
                by_line[d.line].append(d)
        self.keypads: dict[int, int] = {}
        self.evaluators: dict[int, int] = {}
        self.strips: dict[int, int] = {}
        self.main_address: int | None = None
        self.panel: SerialDevice | None = None
        bus_line = led_line = None
        for line, devs in by_line.items():
            for d in devs:
                role = device_role(d, loaded.get(d.profile or ""))
                if d.address is None:  # framed devices always have one (schema)
                    continue
                if d.window is None:
                    if role == "dispenser":
                        self.panel = d
                    elif role == "main_display":
                        self.main_address = d.address
                elif role == "keypad":
                    self.keypads[d.window] = d.address
                    bus_line = line
                elif role == "evaluator":
                    self.evaluators[d.window] = d.address
                elif role == "window_display":
                    self.strips[d.window] = d.address
                    led_line = line
        printer = next((d for d in section.devices if d.kind == "escpos" and d.port), None)
        if bus_line is None or led_line is None or self.panel is None or printer is None:
            raise SystemExit("the demo hall needs keypads, strips, a ticket panel and a printer")
        assert printer.port is not None and self.panel.address is not None
        self.panel_address: int = self.panel.address
        self.bus = FF68Bus(
            lines[bus_line],
            load_profile("ff68-keypad"),
            load_profile("ff68-evaluator"),
            keypads=[*self.keypads.values(), self.panel_address],
            evaluators=self.evaluators.values(),
        )
        self.led = TextStripSim(lines[led_line], load_profile("at-strip"))
        self.printer = PrinterSim(Path(printer.port))

    def start(self) -> None:
        for sim in (self.bus, self.led, self.printer):
            sim.link.parent.mkdir(parents=True, exist_ok=True)
            sim.start()

    def close(self) -> None:
        for sim in (self.bus, self.led, self.printer):
            sim.close()


@contextlib.contextmanager
def _broker() -> Any:
    """(url, how) for the hall's MQTT: HALLCTL_MQTT_URL, an embedded Mosquitto, or none."""
    env = os.environ.get("HALLCTL_MQTT_URL")
    if env:
        yield env, f"MQTT: {env} (HALLCTL_MQTT_URL)"
        return
    from hallctl.broker import BrokerError, Mosquitto

    try:
        broker = Mosquitto()
        broker.start()
    except BrokerError as e:
        first = str(e).splitlines()[0]
        yield None, f"MQTT: off ({first}); kiosks are not simulated"
        return
    try:
        yield broker.url, (
            f"MQTT: embedded Mosquitto at {broker.url} — watch it with: "
            f"mosquitto_sub -h 127.0.0.1 -p {broker.port} -t 'hallctl/#' -v"
        )
    finally:
        broker.close()


class _Stop:
    """Every stop signal ends the demo the same way: the daemon's clean shutdown, then the
    simulators and the broker in the `finally`s. The daemon takes over SIGTERM/SIGINT while it
    runs and gives them back as defaults; `rearm` puts ours back."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.daemon: Daemon | None = None

    def _set(self) -> None:
        self.requested.set()
        if self.daemon is not None:
            self.daemon.stop_requested.set()

    def rearm(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self._set)

    def disarm(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def _demo(
    speed: float, duration: float | None, ui: bool, modbus: bool, workdir: Path
) -> int:
    stop = _Stop()
    stop.rearm()
    try:
        with _broker() as (url, mqtt_note):
            cfg = _demo_config(DEMO_CONFIG, url, workdir)
            shutil.rmtree(cfg.data_dir, ignore_errors=True)  # a fresh hall every run
            assert cfg.serial is not None
            sims = Sims(cfg.serial)
            sims.start()  # the ports exist before the daemon looks for them
            try:
                if stop.requested.is_set():
                    return 130
                if not modbus:
                    return await _run_hall(cfg, sims, speed, duration, ui, mqtt_note, stop)
                return await _with_modbus(cfg, sims, speed, duration, ui, mqtt_note, stop)
            finally:
                sims.close()
    finally:
        stop.disarm()


async def _with_modbus(
    cfg: HallConfig, sims: Sims, speed: float, duration: float | None, ui: bool, note: str,
    stop: _Stop,
) -> int:
    """The same hall plus a Modbus TCP evaluator and LED display at the last window."""
    from hallctl.demo_modbus import citizen_at_the_evaluator, free_port, simulator, with_modbus

    port = free_port()
    stats: dict[str, Any] = {}
    async with simulator(port) as sim:
        presser = asyncio.create_task(citizen_at_the_evaluator(sim, speed, stats))
        try:
            code = await _run_hall(with_modbus(cfg, port), sims, speed, duration, ui, note, stop)
        finally:
            presser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await presser
        print(f"modbus: {sim.requests} requests served, "
              f"{stats.get('presses', 0)} Modbus evaluator presses", flush=True)
        return code


async def _run_hall(
    cfg: HallConfig, sims: Sims, speed: float, duration: float | None, ui: bool, note: str,
    stop: _Stop,
) -> int:
    print(f"hallctl demo: {cfg.hall.name}, {len(cfg.windows)} windows, speed ×{speed:g}")
    print(note, flush=True)
    print(f"demo directory: {cfg.data_dir.parent}", flush=True)
    clock = demo_clock(cfg, speed)  # the hall core and the simulated people share hall time
    daemon = Daemon(cfg, clock=clock)
    stop.daemon = daemon
    runner = asyncio.create_task(daemon.run(), name="daemon")
    ready = asyncio.create_task(daemon.ready.wait())
    await asyncio.wait({runner, ready}, timeout=READY_TIMEOUT_S, return_when="FIRST_COMPLETED")
    if not daemon.ready.is_set() or daemon.engine is None:
        ready.cancel()
        daemon.stop_requested.set()
        with contextlib.suppress(Exception):
            await runner
        stop.rearm()
        if stop.requested.is_set():
            return 130
        print("hallctl demo: the daemon did not start", file=sys.stderr)
        return 1
    engine = daemon.engine
    print("pages (docs/pages.md):", *await page_urls(cfg, daemon.components), sep="\n", flush=True)
    logins = await asyncio.to_thread(staff_logins, cfg, daemon.components)
    if logins:
        print("staff pages (docs/staff-console.md):", *logins, sep="\n", flush=True)
    events: Counter[str] = Counter()
    activity = Activity()
    started = time.monotonic()
    try:
        await _open_windows(cfg, engine)
        async with contextlib.AsyncExitStack() as stack:
            kiosks = await _kiosks(cfg, stack, activity)
            people = People(
                cfg, engine, Hands(sims.bus, activity), activity,
                panel_address=sims.panel_address,
                buttons={code: b for b, code in sims.panel.buttons.items()} if sims.panel else {},
                keypads=sims.keypads, evaluators=sims.evaluators, kiosks=kiosks, clock=clock,
            )
            printer = PrinterReader(sims.printer)
            view = DemoView(
                engine, sims.led, sims.strips, sims.main_address, printer, events, activity,
                header=f"{cfg.hall.name} — hallctl demo ×{speed:g} — Ctrl-C stops. {note}",
            )
            async with asyncio.TaskGroup() as tg:
                tasks: list[asyncio.Task[Any]] = [
                    tg.create_task(_count(engine, events, ui)),
                    tg.create_task(people.run()),
                ]
                if ui:
                    tasks.append(tg.create_task(_live(view)))
                # asyncio.wait, not timeout + suppress(TimeoutError), which on 3.11 can turn a
                # cancel racing the time-out into a suppressed TimeoutError
                stopped = tg.create_task(daemon.stop_requested.wait())
                await asyncio.wait({stopped}, timeout=duration)
                tasks.append(stopped)
                await _cancel_all(tasks)
            summary = _summary(engine, events, activity, printer, time.monotonic() - started)
            if not daemon.stop_requested.is_set():  # a signal stops at once, without a report
                summary += "\n" + await _day_report(cfg, engine)
    finally:
        daemon.stop_requested.set()
        await runner
        stop.rearm()  # the daemon's exit gave SIGTERM/SIGINT back to their defaults
    print(summary, flush=True)
    return 0


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel the simulators, and cancel again what is still running a second later: on
    Python 3.11 a cancel racing a time-out inside wait_for/asyncio.timeout can be lost, and one
    lost cancel would keep the demo from ever stopping."""
    for task in tasks:
        task.cancel()
    while pending := [t for t in tasks if not t.done()]:
        await asyncio.wait(pending, timeout=1.0)
        for task in pending:
            task.cancel()


async def _open_windows(cfg: HallConfig, engine: HallEngine) -> None:
    for w in cfg.windows:
        response = await engine.execute(
            {"action": "open_window", "window": w.number, "staff": w.default_staff,
             "source": "demo", "request_id": f"demo:open:{w.number}"}
        )
        if not response["ok"]:
            log.warning("demo.open_failed", window=w.number, error=response["error"])


async def _kiosks(
    cfg: HallConfig, stack: contextlib.AsyncExitStack, activity: Activity
) -> list[KioskSim]:
    if cfg.mqtt is None or cfg.kiosks is None:
        return []
    base = cfg.mqtt.topic_base(cfg.hall.id)
    out = []
    for k in cfg.kiosks.kiosks:
        try:
            out.append(await stack.enter_async_context(KioskSim(cfg.mqtt.url, base, k.id)))
        except Exception as e:  # the demo goes on with the panel only
            log.warning("demo.kiosk_unavailable", kiosk=k.id, error=repr(e))
    if out:
        activity.note(f"{len(out)} kiosk(s) on MQTT")
    return out


async def _count(engine: HallEngine, events: Counter[str], ui: bool) -> None:
    """Counts every durable event; without the view, prints a line per call."""
    import json

    with engine.subscribe() as sub:
        async for rec in sub:
            events[rec.type] += 1
            if ui or rec.type not in ("ticket.called", "ticket.recalled", "evaluation.recorded"):
                continue
            d = json.loads(rec.data)
            clock = time.strftime("%H:%M:%S")
            if rec.type == "evaluation.recorded":
                print(f"{clock}  评价 {d['ticket']} @ {d['window']}号窗口: {d['label_zh']}")
            else:
                verb = "叫号" if rec.type == "ticket.called" else "重呼"
                print(f"{clock}  {verb} {d['ticket']} → {d['window_name']} ({d['service_name']})")


async def _live(view: DemoView) -> None:
    from rich.live import Live

    with Live(refresh_per_second=4, screen=False) as live:
        while True:
            live.update(view.render(live.console.width))  # the width of the terminal as it is now
            await asyncio.sleep(0.25)


def _summary(
    engine: HallEngine, events: Counter[str], activity: Activity, printer: PrinterReader,
    elapsed: float,
) -> str:
    from hallctl.hall.views import status_summary

    s = status_summary(engine.hall, engine.now())
    ev = s["evaluations"]
    sat = f"{ev['satisfaction']:.1f}%" if ev["satisfaction"] is not None else "n/a"
    printer.refresh(force=True)
    last = " / ".join(printer.last) if printer.last else "none"
    return "\n".join(
        [
            f"--- demo summary ({elapsed:.0f} s) ---",
            f"tickets issued: {s['tickets_today']} (panel presses {activity.panel_presses}, "
            f"kiosk {activity.kiosk_tickets})",
            f"calls: {events['ticket.called']}, recalls: {events['ticket.recalled']}, "
            f"no-shows: {events['ticket.no_show']}, finished: {events['ticket.finished']}",
            f"evaluations: {ev['total']}, satisfaction: {sat}",
            f"tickets printed: {printer.count}; last printed ticket: {last}",
            f"voice announcements: {events['voice.announced']} spoken, as WAV files in "
            f"{engine.config.data_dir / 'voice' / 'out'} (in a burst, a call that would be "
            "spoken too late is dropped: docs/voice.md)",
        ]
    )


async def _day_report(cfg: HallConfig, engine: HallEngine) -> str:
    """The day's 电子监察 report, as the daemon writes it after closing time."""
    from hallctl.supervision.daily import DailyReports

    try:
        async with asyncio.timeout(60):
            day = engine.now().astimezone(cfg.hall.tz).date()
            paths = await DailyReports(cfg, engine).write(day)
    except Exception as e:  # the demo's summary still prints
        return f"report: not written ({e!r})"
    return "report: " + ", ".join(str(p) for p in paths)
