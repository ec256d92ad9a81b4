"""A stop ends the daemon even when a component drops the stop's cancel, as a library awaiting
with ``asyncio.wait_for`` does on Python 3.11 when the cancel comes with what it awaited."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hallctl.components import Component, Needs
from hallctl.daemon import Daemon
from hallctl.engine import HallEngine
from tests.sinks_support import hall_config


class DropsOneCancel:
    """Goes on after the first cancel, as pymodbus's and aiomqtt's ``wait_for`` can make it."""

    name = "drops-one-cancel"

    def __init__(self) -> None:
        self.cancels = 0

    def needs(self) -> Needs:
        return Needs()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancels += 1
                if self.cancels > 1:
                    raise
                task = asyncio.current_task()
                assert task is not None
                task.uncancel()  # what wait_for's dropping amounts to: the task goes on


class WithIt(Daemon):
    def __init__(self, *args: object, component: DropsOneCancel, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.stubborn = component

    def _compose(self, engine: HallEngine) -> list[Component]:
        return [self.stubborn]


async def test_a_stop_ends_the_daemon_though_a_component_dropped_its_cancel(
    tmp_path: Path,
) -> None:
    component = DropsOneCancel()
    daemon = WithIt(hall_config(tmp_path), component=component)
    running = asyncio.create_task(daemon.run())
    async with asyncio.timeout(20):
        await daemon.ready.wait()
    daemon.stop_requested.set()
    done, _ = await asyncio.wait([running], timeout=10)
    assert done, "the daemon did not stop"
    running.result()
    assert component.cancels == 2  # dropped the first, ended on the second
