"""The demo's live terminal view (rich): what the hall's screens and devices show right now.

The window strips, the main display and the printed tickets are read back from the device
simulators, i.e. what the daemon actually sent down the wires, not from the engine.
The layout follows the terminal's width: side by side on a wide terminal, stacked on a narrow
one, so it stays readable from 80 columns up.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hallctl.hall.views import status_summary

if TYPE_CHECKING:
    from hallctl.engine import HallEngine
    from hallctl.sim.citizens import Activity
    from hallctl.sim.printer import PrinterSim
    from hallctl.sim.serial_devices import TextStripSim

STATUS_STYLE = {"open": "green", "paused": "yellow", "closed": "red"}
WIDE = 150  # columns from which the panels sit side by side
MEDIUM = 100  # columns from which the names of windows and services are shown
LAST_CALLS = 6


@dataclass
class PrinterReader:
    """Decodes the printer's output only when it grew; decoding is linear in all it printed."""

    printer: PrinterSim
    count: int = 0
    last: list[str] = field(default_factory=list)
    qr: str | None = None
    _seen: int = -1
    _at: float = 0.0

    def refresh(self, *, force: bool = False) -> None:
        size = len(self.printer.printed)
        if size == self._seen or (not force and time.monotonic() - self._at < 1.0):
            return
        self._seen, self._at = size, time.monotonic()
        tickets = self.printer.tickets
        self.count = len(tickets)
        if tickets:
            self.last = [t for t in tickets[-1].texts if t.strip()]
            self.qr = tickets[-1].qr[-1] if tickets[-1].qr else None


@dataclass
class DemoView:
    engine: HallEngine
    strips: TextStripSim
    strip_of: dict[int, int]  # window → strip address
    main_address: int | None
    printer: PrinterReader
    events: Counter[str]
    activity: Activity
    header: str

    def main_display(self) -> str:
        return self.strips.shown_text.get(self.main_address, "") if self.main_address else ""

    def render(self, width: int = WIDE) -> RenderableType:
        s = status_summary(self.engine.hall, self.engine.now())
        return Group(
            Text(self.header, style="bold", overflow="fold"),
            self._windows(s, width),
            _rows(self._middle(s, width), width),
            _rows(self._bottom(s), width),
        )

    def _windows(self, s: dict[str, Any], width: int) -> Table:
        t = Table(title="窗口 windows", expand=True, title_justify="left", padding=(0, 1))
        t.add_column("#", no_wrap=True)
        if width >= MEDIUM:
            t.add_column("name", no_wrap=True, overflow="ellipsis", max_width=16)
        t.add_column("status", no_wrap=True)
        t.add_column("staff", no_wrap=True, overflow="ellipsis", max_width=10)
        t.add_column("ticket", no_wrap=True)
        t.add_column("wait", no_wrap=True, justify="right")
        # the strip's text folds onto more lines instead of pushing the table off the screen
        t.add_column("LED strip (from the wire)", overflow="fold", ratio=1)
        for w in s["windows"]:
            cur = w["current"]
            staff = w["staff"]["name"] if w["staff"] else "-"
            ticket = f"{cur['ticket']} {cur['state']}" if cur else "-"
            strip = self.strips.shown_text.get(self.strip_of.get(w["window"], -1), "")
            status = Text(w["status"], STATUS_STYLE.get(w["status"], ""))
            row: list[RenderableType] = [str(w["window"])]
            if width >= MEDIUM:
                row.append(w["name"])
            row += [status, staff, ticket, str(w["waiting"]), strip]
            t.add_row(*row)
        return t

    def _middle(self, s: dict[str, Any], width: int) -> list[RenderableType]:
        q = Table(title="队列 queues", title_justify="left", padding=(0, 1))
        named = width >= MEDIUM  # below, the code alone keeps queues and calls side by side
        for col in ("service", "name", "wait", "issued", "est.") if named else (
            "service", "wait", "issued", "est."
        ):
            q.add_column(col, no_wrap=True, overflow="ellipsis")
        for sv in s["services"]:
            est = f"{sv['est_wait_min']:.0f} min" if sv["est_wait_min"] is not None else "-"
            cells = [sv["service"], sv["name"]] if named else [sv["service"]]
            q.add_row(*cells, str(sv["waiting"]), str(sv["issued"]), est)
        calls = Table(title="叫号 last calls", title_justify="left", padding=(0, 1))
        calls.add_column("time", no_wrap=True)
        calls.add_column("ticket", no_wrap=True)
        calls.add_column("window", no_wrap=True, overflow="ellipsis")
        for c in last_calls(s):
            calls.add_row(c["ts"][11:19], c["ticket"], c["window_name"])
        self.printer.refresh()
        ticket = "\n".join(self.printer.last[-8:]) or "(nothing printed yet)"
        if self.printer.qr:
            ticket += f"\nQR: {self.printer.qr}"
        prn = Panel(ticket, title=f"打印机 last ticket ({self.printer.count} printed)")
        main = Panel(self.main_display(), title="主屏 main display")
        if width >= WIDE:
            return [q, calls, Group(main, prn)]
        return [q, calls, main, prn]

    def _bottom(self, s: dict[str, Any]) -> list[RenderableType]:
        devices = s["devices"]
        offline = sorted(d for d, st in devices.items() if st != "online")
        dev_text = f"{len(devices) - len(offline)}/{len(devices)} online"
        if offline:
            dev_text += "\noffline: " + ", ".join(offline)
        for alarm in s["device_alarms"][:3]:
            dev_text += f"\nalarm: {alarm}"
        ev = s["evaluations"]
        sat = f"{ev['satisfaction']:.0f}%" if ev["satisfaction"] is not None else "-"
        counts = "\n".join(
            f"{k}: {v}" for k, v in sorted(self.events.items()) if k.startswith(("ticket", "eval"))
        )
        a = self.activity
        people = (
            f"panel presses: {a.panel_presses}\nkiosk tickets: {a.kiosk_tickets}"
            f"\nevaluator presses: {a.evaluator_presses}\nsatisfaction: {sat} of {ev['total']}"
            + (f"\nunacked presses: {a.unacked_presses}" if a.unacked_presses else "")
        )
        return [
            Panel(dev_text, title="设备 devices"),
            Panel(counts or "-", title="事件 events"),
            Panel(people, title="people"),
            Panel("\n".join(a.log[-6:]) or "-", title="kiosks"),
        ]


def last_calls(s: dict[str, Any], n: int = LAST_CALLS) -> list[dict[str, Any]]:
    """The newest calls first (the status summary keeps them newest first)."""
    return list(s["calls"][:n])


def _rows(parts: list[RenderableType], width: int) -> RenderableType:
    """All parts on one row when wide, else two a row (the view must fit a 24-line screen
    as far as it can: stacking everything would push the bottom off it)."""
    per_row = len(parts) if width >= WIDE else 2
    grid = Table.grid(padding=(0, 2), expand=True)
    for _ in range(per_row):
        grid.add_column(ratio=1)
    for i in range(0, len(parts), per_row):
        chunk = parts[i : i + per_row]
        grid.add_row(*chunk, *([""] * (per_row - len(chunk))))
    return grid
