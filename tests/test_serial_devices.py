"""Text strips and the ticket printer over real ptys, driven through the line owner."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from hallctl.codec.escpos import TicketContent, TicketLayout, build_ticket
from hallctl.codec.escpos_status import PAPER_SENSOR, PrinterStatus, apply_status, status_request
from hallctl.codec.frame import FrameDecoder
from hallctl.codec.loader import load_profile
from hallctl.codec.mapping import render_output
from hallctl.sim.printer import PrinterSim
from hallctl.sim.serial_devices import TextStripSim
from hallctl.transports.serial import SerialLine, SerialLineConfig
from tests.serial_support import eventually, running


def config(link: Path) -> SerialLineConfig:
    return SerialLineConfig(id="l", port=str(link), gap_ms=1, timeout_ms=200, retries=0)


async def test_onbon_and_at_strips_show_chinese_text(tmp_path: Path) -> None:
    for name in ("onbon-bx5", "at-strip"):
        profile = load_profile(name)
        strip = TextStripSim(tmp_path / f"tty-{name}", profile)
        strip.start()
        try:
            line = SerialLine(config(strip.link), FrameDecoder(profile))
            async with running(line):
                await line.send(
                    render_output(profile, "show_text", address=1, text="请A012号到5号窗口")
                )
                await line.send(render_output(profile, "show_text", address=2, text="暂停服务"))
                await eventually(lambda s=strip: len(s.shown_text) == 2)
            assert strip.shown_text == {1: "请A012号到5号窗口", 2: "暂停服务"}, name
            assert strip.decoder.bad_frames() == 0
        finally:
            strip.close()


@pytest.mark.parametrize("mode", ["serial", "file"])
async def test_printer_prints_tickets_and_reports_paper_out(tmp_path: Path, mode: str) -> None:
    # "file" opens the port as a plain character device, as for a USB printer's /dev/usb/lp0
    printer = PrinterSim(tmp_path / "ttyPRN")
    printer.start()
    cfg = config(printer.link).model_copy(update={"mode": mode})
    line = SerialLine(cfg)  # unframed: replies are counted in bytes
    layout = TicketLayout(paper_mm=58, hall_name="政务服务大厅", footer="过号请重新取号")
    content = TicketContent(
        service_name="社保医保",
        ticket="B007",
        ahead=3,
        est_wait_min=6,
        issued_at=datetime(2024, 5, 6, 10, 0),
        qr_payload="hall:B007",
    )

    async def paper() -> PrinterStatus | None:
        answer = await line.transact(status_request(PAPER_SENSOR), expect=1)
        return None if answer is None else apply_status(PrinterStatus(), PAPER_SENSOR, answer[0])

    try:
        async with running(line):
            assert await paper() == PrinterStatus()
            await line.send(build_ticket(layout, content))
            await eventually(lambda: len(printer.tickets) == 1)
            printer.paper_out = True
            status = await paper()
            assert status is not None and status.paper_out
        [ticket] = printer.tickets
        assert "B007" in ticket.texts and "社保医保" in ticket.texts
        assert ticket.qr == ["hall:B007"] and ticket.cuts == 1
    finally:
        printer.close()
