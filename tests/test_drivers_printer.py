"""Ticket panel → printer end to end, printer status alarms, and printing that fails."""

from __future__ import annotations

from pathlib import Path

from tests.drivers_support import rig
from tests.serial_support import eventually


async def test_a_panel_button_issues_a_ticket_that_its_printer_prints(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        assert await r.bus.press(200, 0)  # button 0 → BDC
        issued = await r.event("ticket.issued")
        assert (issued["ticket"], issued["service"], issued["source"]) == ("A001", "BDC", "panel")
        await eventually(lambda: len(r.printer.tickets) == 1)
        [ticket] = r.printer.tickets
        assert "测试大厅" in ticket.texts and "不动产登记" in ticket.texts
        assert "A001" in ticket.texts and "过号请重新取号" in ticket.texts
        assert "前面还有 0 人等候" in ticket.texts
        assert ticket.qr == ["https://hall.example/t/A001"] and ticket.cuts == 1

        await r.bus.press(200, 7)  # a button with no service: beeps, issues nothing
        await eventually(lambda: any(f.function == 0x03 for f in r.bus.received_frames[200]))
        assert len(r.events("ticket.issued")) == 1


async def test_the_default_printer_prints_tickets_without_a_source(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        # issued while the printer's port may still be opening: printed once it is
        await r.engine.execute({"action": "take_ticket", "service": "SB"})
        await eventually(lambda: len(r.printer.tickets) == 1)
        assert "B001" in r.printer.tickets[0].texts
        await r.do("take_ticket", service="SB")  # source "test": nobody's dispenser
        await r.do("reprint", ticket="B001")  # source "test" again: not this printer's
        await r.engine.execute({"action": "reprint", "ticket": "B001", "source": "panel"})
        await eventually(lambda: len(r.printer.tickets) == 2)
        assert ["B001" in t.texts for t in r.printer.tickets] == [True, True]


async def test_paper_out_raises_an_alarm_and_a_failed_print_loses_no_ticket(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        await r.event("device.online", lambda d: d["device"] == "prn")
        r.printer.paper_out = True
        alarm = await r.event("device.alarm", lambda d: d["alarm"] == "paper_out")
        assert alarm == alarm | {"device": "prn", "active": True}

        await r.bus.press(200, 0)
        assert (await r.event("ticket.issued"))["ticket"] == "A001"  # issued all the same
        failed = await r.event("device.alarm", lambda d: d["alarm"] == "print_failed")
        assert failed["active"] and "A001" in failed["detail"]
        assert r.printer.tickets == []

        r.printer.paper_out = False
        await r.event("device.alarm", lambda d: d["alarm"] == "paper_out" and not d["active"])
        await r.engine.execute({"action": "reprint", "ticket": "A001", "source": "panel"})
        await eventually(lambda: len(r.printer.tickets) == 1)
        assert "A001" in r.printer.tickets[0].texts
        await r.event("device.alarm", lambda d: d["alarm"] == "print_failed" and not d["active"])


async def test_a_printer_that_stops_answering_goes_offline_and_comes_back(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        first = await r.event("device.online", lambda d: d["device"] == "prn")
        r.printer.close()
        await r.event("device.offline", lambda d: d["device"] == "prn")
        r.printer.start()
        await r.event("device.online", lambda d: d["device"] == "prn", after=first["_seq"])
