"""ESC/POS tickets: built bytes decode back to the same lines, sizes, QR and cut; status."""

from datetime import datetime

import pytest

from hallctl.codec.escpos import TicketContent, TicketLayout, build_ticket, display_width, qr
from hallctl.codec.escpos_decode import decode_escpos, decode_tickets
from hallctl.codec.escpos_status import (
    PAPER_SENSOR,
    PRINTER,
    PrinterStatus,
    apply_status,
    encode_status,
    status_request,
)

CONTENT = TicketContent(
    service_name="不动产登记",
    ticket="A012",
    ahead=7,
    est_wait_min=12.4,
    issued_at=datetime(2024, 5, 6, 9, 30, 5),
    qr_payload="https://hall.example/t/A012?d=2024-05-06",
)


@pytest.mark.parametrize("paper", [58, 80])
def test_ticket_round_trip_with_chinese_and_qr(paper: int) -> None:
    layout = TicketLayout(
        paper_mm=paper, hall_name="市民中心服务大厅", footer="请留意叫号，过号作废"
    )
    wire = build_ticket(layout, CONTENT)
    assert wire.startswith(b"\x1b@\x1c&")
    assert wire.endswith(b"\x1dV\x42\x03")
    t = decode_escpos(wire)
    assert t.texts == [
        "市民中心服务大厅",  # 8 characters at double width: 32 columns, fits 58 mm
        "不动产登记",
        "A012",
        "前面还有 7 人等候",
        "预计等待约 12 分钟",
        "2024-05-06 09:30:05",
        "请留意叫号，过号作废",
    ]
    number = t.lines[2]
    assert (number.width, number.height, number.align) == (4, 4, "center")
    assert (t.lines[0].width, t.lines[1].width) == (2, 1)
    assert t.qr == [CONTENT.qr_payload]
    assert t.cuts == 1


def test_long_text_wraps_at_the_paper_width() -> None:
    name = "某某市某某区人民政府政务服务中心便民服务大厅"  # 22 characters = 44 columns
    narrow = decode_escpos(build_ticket(TicketLayout(paper_mm=58, hall_name=name), CONTENT))
    wide = decode_escpos(build_ticket(TicketLayout(paper_mm=80, hall_name=name), CONTENT))
    # hall name is printed at double width: 16 / 24 columns per line
    assert [display_width(s) for s in narrow.texts[:3]] == [16, 16, 12]
    assert [display_width(s) for s in wide.texts[:2]] == [24, 20]
    assert "".join(narrow.texts[:3]) == name


def test_qr_command_bytes_follow_the_gs_k_layout() -> None:
    raw = qr("AB", module=5, level="H")
    assert b"\x1d(k\x03\x001\x43\x05" in raw  # fn 167 size 5
    assert b"\x1d(k\x03\x001\x45\x33" in raw  # fn 169 level H
    assert b"\x1d(k\x05\x001\x50\x30AB" in raw  # fn 180 store: pL = 2 + 3
    assert raw.endswith(b"\x1d(k\x03\x001\x51\x30")  # fn 181 print


def test_stream_of_tickets_splits_at_cuts() -> None:
    layout = TicketLayout(hall_name="大厅")
    two = build_ticket(layout, CONTENT) + build_ticket(
        layout, CONTENT.model_copy(update={"ticket": "A013"})
    )
    tickets = decode_tickets(two)
    assert [t.texts[2] for t in tickets[:2]] == ["A012", "A013"]
    assert tickets[-1].lines == []


def test_decoder_survives_truncated_commands() -> None:
    wire = build_ticket(TicketLayout(hall_name="大厅"), CONTENT)
    for k in range(len(wire)):
        decode_escpos(wire[:k])  # must not raise


def test_status_requests_and_answers() -> None:
    assert status_request(PAPER_SENSOR) == b"\x10\x04\x04"
    # Epson: roll paper end = bits 5 and 6, near end = bits 2 and 3, fixed bits 1 and 4
    assert apply_status(PrinterStatus(), PAPER_SENSOR, 0x72) == PrinterStatus(paper_out=True)
    assert apply_status(PrinterStatus(), PAPER_SENSOR, 0x1E) == PrinterStatus(paper_near_end=True)
    assert apply_status(PrinterStatus(), PRINTER, 0x1A) == PrinterStatus(offline=True)
    assert apply_status(PrinterStatus(), 2, 0x16) == PrinterStatus(cover_open=True)
    assert apply_status(PrinterStatus(), PAPER_SENSOR, 0xFF) is None  # not a status byte
    out = PrinterStatus(paper_out=True)
    assert apply_status(PrinterStatus(), PAPER_SENSOR, encode_status(PAPER_SENSOR, out)) == out
