"""The daemon: wiring and lifetimes. Everything runs in one TaskGroup under one journal.

Start: lock the data directory, open the journal, rebuild state, start the writer, the control
socket, the clock, the MQTT link and the devices, then tell systemd READY. Stop (SIGTERM/SIGINT):
STOPPING, drain what was accepted, snapshot, let the link publish ``offline``, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

import structlog

from hallctl.components import Component
from hallctl.config.models import HallConfig
from hallctl.control import ControlServer
from hallctl.engine import Clock, HallEngine
from hallctl.files import private_dir
from hallctl.heap_policy import fix_mmap_threshold
from hallctl.journal import Journal
from hallctl.privacy import load_or_create_secret
from hallctl.sdnotify import Notifier

log = structlog.get_logger("hallctl.daemon")

TICK_S = 5.0
PRUNE_EVERY_S = 3600.0
CANCEL_AGAIN_S = 1.0  # a stop cancels again a task still running after this long


class DataDirLocked(RuntimeError):
    pass


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One daemon per data directory: two writers on one journal would fight over seqs."""
    private_dir(data_dir)
    path = data_dir / "hallctl.lock"
    f: TextIO = path.open("a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise DataDirLocked(f"another hallctl is running on {data_dir}") from None
    try:
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield
    finally:
        f.close()


def socket_path(config: HallConfig) -> Path:
    return config.control.socket or (config.data_dir / "control.sock")


class _Stop(Exception):
    """Raised inside the TaskGroup to end every task once shutdown has been done in order."""


class Daemon:
    def __init__(self, config: HallConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock  # hall time; the demo runs it faster than real time
        self.components: list[Component] = []
        self.stop_requested = asyncio.Event()
        self.ready = asyncio.Event()
        self.engine: HallEngine | None = None
        self.notifier = Notifier()

    async def run(self) -> None:
        cfg = self.config
        with data_dir_lock(cfg.data_dir), Journal(cfg.data_dir / "journal.db") as journal:
            secret = load_or_create_secret(cfg.privacy.secret_file or cfg.data_dir / "secret")
            engine = self.engine = HallEngine(cfg, journal, secret=secret, clock=self.clock)
            await asyncio.to_thread(engine.recover)
            insisting: asyncio.Task[None] | None = None
            try:
                async with asyncio.TaskGroup() as tg, self._signals():
                    tasks = [tg.create_task(engine.run(), name="journal-writer")]
                    async with ControlServer(
                        socket_path(cfg), self._control, mode=cfg.control.mode
                    ):
                        tasks.append(tg.create_task(self._clock(engine), name="clock"))
                        tasks.append(tg.create_task(self._watchdog(), name="watchdog"))
                        self.components = self._compose(engine)
                        tasks.append(tg.create_task(self._prune(engine), name="retention"))
                        for component in self.components:
                            tasks.append(
                                tg.create_task(_supervised(component), name=component.name)
                            )
                        self.ready.set()
                        self.notifier.ready(status=f"hall {cfg.hall.id} running")
                        log.info("daemon.ready", hall=cfg.hall.id, data_dir=str(cfg.data_dir))
                        await self.stop_requested.wait()
                        self.notifier.stopping()
                        log.info("daemon.stopping")
                        await engine.drain()
                        await engine.snapshot()
                        insisting = asyncio.create_task(_cancel_until_done(tasks))
                        raise _Stop
            except* _Stop:
                pass
            finally:
                if insisting is not None:
                    insisting.cancel()
        log.info("daemon.stopped")

    def _compose(self, engine: HallEngine) -> list[Component]:
        from hallctl.wiring import compose

        return compose(self.config, engine)

    async def _control(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.engine is not None
        response = await self.engine.execute(request)
        if request.get("action") == "status" and response.get("ok"):
            # the devices' own counters (frames, bad frames by reason) are not hall state:
            # the components that keep them add them here, for `hallctl status`
            from hallctl.wiring import component_status

            result = {**response["result"], "components": component_status(self.components)}
            response = {**response, "result": result}
        return response

    @contextlib.asynccontextmanager
    async def _signals(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_requested.set)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    async def _clock(self, engine: HallEngine) -> None:
        """Time passes: rollover at midnight, evaluation time-outs, wait alarms."""
        while True:
            await asyncio.sleep(TICK_S)
            response = await engine.execute({"action": "tick", "source": "clock"})
            # disk_full is logged once by the engine; the tick is what probes for space.
            if not response["ok"] and response["error"]["code"] != "disk_full":
                log.warning("daemon.tick_failed", error=response["error"])

    async def _prune(self, engine: HallEngine) -> None:
        """Archive and prune days past retention, never before every sink has forwarded them."""
        from hallctl.wiring import cursors

        sinks = cursors(self.components)
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            cutoff = date.fromisoformat(engine.hall.state.day or date.today().isoformat())
            before = (cutoff - timedelta(days=self.config.retention.days)).isoformat()
            archive = self.config.data_dir / "archive" if self.config.retention.archive else None
            try:
                n = await asyncio.to_thread(
                    engine.journal.prune, before, sinks, archive_dir=archive
                )
                if n:
                    log.info("daemon.pruned", before=before, events=n)
            except Exception as e:  # retention must never stop the hall
                log.warning("daemon.prune_failed", error=str(e))

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval()
        if interval is None:
            return
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)


async def _cancel_until_done(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel again, once a second, the tasks a stop's cancel did not end.

    A library that awaits with ``asyncio.wait_for`` (pymodbus, aiomqtt, nats-py) drops, on
    Python 3.11, a cancel that lands in the same loop pass as what it awaited; the task then goes
    on and the TaskGroup's exit waits for it forever (a Modbus line did, hallctl/modbus/line.py).
    """
    while True:
        await asyncio.sleep(CANCEL_AGAIN_S)
        for task in tasks:
            if not task.done():
                log.warning("daemon.cancel_again", task=task.get_name())
                task.cancel()


async def _supervised(component: Component) -> None:
    """A device or link that fails is logged and restarted; it never ends the daemon."""
    name = component.name
    delay = 1.0
    while True:
        try:
            await component.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("daemon.component_failed", component=name, restart_in_s=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


def run_daemon(config: HallConfig) -> None:
    fix_mmap_threshold()  # snapshot blobs' pages go back to the kernel (hallctl/heap_policy.py)
    asyncio.run(Daemon(config).run())
