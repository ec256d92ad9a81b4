"""The demo's live view: the newest calls first, and readable at 80, 100 and 160 columns."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from hallctl.codec.loader import load_profile
from hallctl.config import parse_config
from hallctl.demo import DEMO_CONFIG
from hallctl.demo_view import DemoView, PrinterReader
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.sim.citizens import Activity
from hallctl.sim.printer import PrinterSim
from hallctl.sim.serial_devices import TextStripSim
from tests.hall.conftest import TZ


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 30, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def view(tmp_path: Path) -> AsyncIterator[tuple[DemoView, list[str]]]:
    """The demo hall with eight calls made, one a minute, and the tickets called in order."""
    cfg = parse_config(DEMO_CONFIG.read_text(encoding="utf-8"), env={}, base=tmp_path)
    journal = Journal(tmp_path / "journal.db")
    clock = Clock()
    engine = HallEngine(cfg, journal, secret=b"k" * 32, clock=clock)
    engine.recover()
    writer = asyncio.create_task(engine.run())
    called: list[str] = []
    try:
        for w in cfg.windows:
            await engine.execute({"action": "open_window", "window": w.number})
        service = cfg.windows[0].services[0].service
        for _ in range(8):
            await engine.execute({"action": "take_ticket", "service": service})
        for _ in range(8):
            clock.now += timedelta(minutes=1)
            await engine.execute({"action": "finish", "window": 1})
            r = await engine.execute({"action": "call_next", "window": 1})
            called.append(r["result"]["ticket"])
        strips = TextStripSim(tmp_path / "strips", load_profile("at-strip"))
        strips.shown_text[1] = "请A008号到1号窗口办理业务，谢谢合作" * 2  # longer than any screen
        printer = PrinterReader(PrinterSim(tmp_path / "printer"))
        view = DemoView(
            engine, strips, {1: 1}, 90, printer, Counter({"ticket.called": 8}), Activity(),
            header="demo hall — hallctl demo ×1 — Ctrl-C stops. MQTT: off",
        )
        yield view, called
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer
        journal.close()


def _text(view: DemoView, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as cap:
        console.print(view.render(width))
    return cap.get().splitlines()


def _calls_section(lines: list[str]) -> list[str]:
    """Ticket numbers in the order the 叫号 table lists them."""
    start = next(i for i, ln in enumerate(lines) if "叫号 last calls" in ln)
    found: list[str] = []
    for ln in lines[start + 1 :]:
        # the calls table's rows: a time, then a ticket
        for m in re.finditer(r"\d\d:\d\d:\d\d\s*│?\s*([A-Z]\d{3})", ln):
            found.append(m.group(1))
    return found


async def test_last_calls_shows_the_newest_first(view: tuple[DemoView, list[str]]) -> None:
    v, called = view
    shown = _calls_section(_text(v, 160))
    assert shown == list(reversed(called))[:6]


@pytest.mark.parametrize("width", [80, 100, 160])
async def test_the_view_fits_the_terminal(view: tuple[DemoView, list[str]], width: int) -> None:
    v, called = view
    from hallctl.cli_output import width as columns

    lines = _text(v, width)
    too_wide = [ln for ln in lines if columns(ln) > width]
    assert not too_wide, "\n".join(too_wide)
    text = "\n".join(lines)
    # every section is there, the windows and the newest call are legible
    for title in ("窗口 windows", "队列 queues", "叫号 last calls", "主屏 main display",
                  "打印机", "设备 devices", "事件 events"):
        assert title in text, (width, title, text)
    assert called[-1] in text
    assert "open" in text
    # nothing a person reads off the view is cut to "…": codes, calls and their times
    for code in ("BDC", "SBYB", "GJJ", "QYKB", "SW", "HJ", "ZHSL"):
        assert re.search(rf"│ {code}\s", text), (width, code)
    for minute in range(33, 39):
        assert f"09:{minute}:00" in text, (width, minute)
    assert all(f"│ {t}" in text for t in called[-6:]), width
    # the strip's long text is folded onto more lines, not cut to nothing
    assert "请A008号到1号窗口" in text.replace(" ", "").replace("│", "").replace("\n", "")


async def test_stopping_the_simulators_survives_a_lost_cancel() -> None:
    from hallctl.demo import _cancel_all

    async def loses_one_cancel() -> None:
        # what a cancel racing a time-out looks like on Python 3.11: swallowed
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        await asyncio.sleep(30)

    task = asyncio.create_task(loses_one_cancel())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await _cancel_all([task])
    assert task.cancelled()
