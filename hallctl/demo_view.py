"""The demo's live terminal view (rich): what the hall's screens and devices show right now.

The window strips, the main display and the printed tickets are read back from the device
simulators, i.e. what the daemon actually sent down the wires, not from the engine.
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

    def render(self) -> RenderableType:
        s = status_summary(self.engine.hall, self.engine.now())
        return Group(
            Text(self.header, style="bold"),
            self._windows(s),
            self._middle(s),
            self._bottom(s),
        )

    def _windows(self, s: dict[str, Any]) -> Table:
        t = Table(title="窗口 windows", expand=True, title_justify="left")
        cols = ("#", "name", "status", "staff", "ticket", "waiting", "LED strip (from the wire)")
        for col in cols:
            t.add_column(col)
        for w in s["windows"]:
            cur = w["current"]
            staff = w["staff"]["name"] if w["staff"] else "-"
            ticket = f"{cur['ticket']} ({cur['state']})" if cur else "-"
            strip = self.strips.shown_text.get(self.strip_of.get(w["window"], -1), "")
            t.add_row(
                str(w["window"]), w["name"], Text(w["status"], STATUS_STYLE.get(w["status"], "")),
                staff, ticket, str(w["waiting"]), strip,
            )
        return t

    def _middle(self, s: dict[str, Any]) -> Table:
        q = Table(title="队列 queues", title_justify="left")
        for col in ("service", "name", "waiting", "issued", "est. wait"):
            q.add_column(col)
        for sv in s["services"]:
            q.add_row(
                sv["service"], sv["name"], str(sv["waiting"]), str(sv["issued"]),
                f"{sv['est_wait_min']:.0f} min" if sv["est_wait_min"] is not None else "-",
            )
        calls = Table(title="叫号 last calls", title_justify="left")
        calls.add_column("time")
        calls.add_column("ticket")
        calls.add_column("window")
        for c in reversed(s["calls"][-6:]):
            calls.add_row(c["ts"][11:19], c["ticket"], c["window_name"])
        self.printer.refresh()
        ticket = "\n".join(self.printer.last[-8:]) or "(nothing printed yet)"
        if self.printer.qr:
            ticket += f"\nQR: {self.printer.qr}"
        prn = Panel(ticket, title=f"打印机 last ticket ({self.printer.count} printed)")
        side = Group(Panel(self.main_display(), title="主屏 main display"), prn)
        grid = Table.grid(padding=(0, 2))
        grid.add_row(q, calls, side)
        return grid

    def _bottom(self, s: dict[str, Any]) -> Table:
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
        grid = Table.grid(padding=(0, 2))
        grid.add_row(
            Panel(dev_text, title="设备 devices"),
            Panel(counts or "-", title="事件 events"),
            Panel(people, title="people"),
            Panel("\n".join(a.log[-6:]) or "-", title="kiosks"),
        )
        return grid
