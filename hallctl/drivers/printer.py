"""ESC/POS ticket printer: prints ``ticket.issued`` of its dispensers (the default printer also
prints tickets that name no source) and ``ticket.reprint_requested``; polls ``DLE EOT`` status.

A ticket is issued by the hall before any printer sees it, so a failed print never loses it:
the printer raises ``print_failed`` (detail: the ticket) and staff can ``reprint``. Status
changes become ``device_alarm`` requests; a printer that stops answering status polls is
marked offline by the line's availability tracker.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import structlog

from hallctl.codec.escpos import TicketContent, TicketLayout, build_ticket
from hallctl.codec.escpos_status import (
    OFFLINE_CAUSE,
    PAPER_SENSOR,
    PRINTER,
    PrinterStatus,
    apply_status,
    status_request,
)
from hallctl.drivers.base import Driver, HallPort, RequestIds
from hallctl.drivers.display import fill
from hallctl.drivers.serial_config import SerialDevice
from hallctl.transports.serial import SerialLine

log = structlog.get_logger("hallctl.drivers.printer")

#: alarm name → the status flag that raises it
ALARMS: dict[str, str] = {
    "paper_out": "paper_out",
    "paper_near_end": "paper_near_end",
    "cover_open": "cover_open",
    "offline": "offline",
    "error": "error",
}
PRINT_FAILED = "print_failed"
CONNECT_WAIT_S = 2.0


class PrinterDriver(Driver):
    def __init__(
        self,
        device: SerialDevice,
        line: SerialLine,
        hall: HallPort,
        ids: RequestIds,
        *,
        hall_name: str,
        hall_id: str,
        dispensers: frozenset[str],
    ) -> None:
        super().__init__(device, hall, ids)
        self.line = line
        self.dispensers = dispensers
        self.hall_id = hall_id
        lay = device.layout
        self.layout = TicketLayout(
            paper_mm=lay.paper_mm,
            hall_name=lay.hall_name or hall_name,
            number_size=lay.number_size,
            qr_module=lay.qr_module,
            qr_error=lay.qr_error,
            footer=lay.footer,
            feed_lines=lay.feed_lines,
        )
        self.status: PrinterStatus | None = None
        self.alarms: dict[str, bool] = {}  # as last reported to the hall
        self.failed: list[str] = []  # tickets whose print failed since the last good one
        self._jobs: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._poll_now = asyncio.Event()

    # -- routing ----------------------------------------------------------------------------

    def prints(self, source: str | None) -> bool:
        if source is None:
            return self.device.default
        return source == self.id or source in self.dispensers

    def notify(self, type_: str, data: dict[str, Any]) -> None:
        if type_ in ("ticket.issued", "ticket.reprint_requested") and self.prints(
            data.get("source")
        ):
            self._jobs.put_nowait((type_, data))

    async def on_connected(self) -> None:
        self._poll_now.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._print_loop())
            tg.create_task(self._poll_loop())

    # -- printing ---------------------------------------------------------------------------

    def render(self, data: dict[str, Any]) -> bytes:
        ticket = str(data["ticket"])
        qr = None
        if self.device.qr_url:
            qr = fill(self.device.qr_url, {"ticket": ticket, "service": data.get("service"),
                                           "hall": self.hall_id, "day": data.get("day", "")})
        content = TicketContent(
            service_name=str(data.get("service_name") or data.get("service")),
            ticket=ticket,
            ahead=int(data.get("ahead") or 0),
            est_wait_min=data.get("est_wait_min"),
            issued_at=datetime.fromisoformat(str(data["issued_at"])),
            qr_payload=qr,
        )
        return build_ticket(self.layout, content)

    async def _print_loop(self) -> None:
        while True:
            type_, data = await self._jobs.get()
            await self.print_ticket(data, reprint=type_ == "ticket.reprint_requested")

    async def print_ticket(self, data: dict[str, Any], *, reprint: bool = False) -> bool:
        ticket = str(data.get("ticket"))
        try:
            job = self.render(data)
        except (KeyError, ValueError) as exc:
            log.error("printer.render_failed", device=self.id, ticket=ticket, reason=str(exc))
            return await self._failed(ticket, "render")
        if not self.line.connected:
            # e.g. just after start-up or a USB re-plug: worth a moment of the citizen's time
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONNECT_WAIT_S):
                    await self.line.wait_connected()
        before = await self.poll()
        if before is None or not before.ok:
            # a stopped printer drops what it is sent: do not pretend it printed
            return await self._failed(ticket, "not ready")
        await self.line.send(job)
        after = await self.poll()  # in order behind the job: the state once it has printed
        if after is None or after.paper_out or after.cover_open or after.offline:
            return await self._failed(ticket, "stopped while printing")
        self.counters["printed"] += 1
        log.info("printer.printed", device=self.id, ticket=ticket, reprint=reprint)
        if self.failed:
            self.failed.clear()
            await self._alarm(PRINT_FAILED, False)
        return True

    async def _failed(self, ticket: str, why: str) -> bool:
        self.counters["failed"] += 1
        self.failed.append(ticket)
        log.warning("printer.print_failed", device=self.id, ticket=ticket, reason=why)
        await self._alarm(PRINT_FAILED, True, f"{','.join(self.failed[-8:])}: {why}")
        return False

    # -- status -----------------------------------------------------------------------------

    async def poll(self) -> PrinterStatus | None:
        """Ask DLE EOT 1, 2 and 4; None if the printer did not answer (or not sensibly)."""
        status = PrinterStatus()
        timeout = self.device.status_timeout_ms / 1000
        for n in (PRINTER, OFFLINE_CAUSE, PAPER_SENSOR):
            answer = await self.line.transact(
                status_request(n), expect=1, reply_timeout=timeout, device=self.id
            )
            updated = None if answer is None else apply_status(status, n, answer[0])
            if updated is None:
                return None
            status = updated
        await self._report(status)
        return status

    async def _report(self, status: PrinterStatus) -> None:
        changed = status != self.status
        self.status = status
        if not changed:
            return
        for alarm, flag in ALARMS.items():
            await self._alarm(alarm, bool(getattr(status, flag)))

    async def _alarm(self, alarm: str, active: bool, detail: str | None = None) -> None:
        if self.alarms.get(alarm) == active and alarm != PRINT_FAILED:
            return
        response = await self.request(
            "device_alarm", device=self.id, alarm=alarm, active=active, detail=detail
        )
        if response.get("ok"):
            self.alarms[alarm] = active

    async def _poll_loop(self) -> None:
        while True:
            await self.poll()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.device.status_poll_s):
                    await self._poll_now.wait()
            self._poll_now.clear()
