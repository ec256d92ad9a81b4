"""ESC/POS ticket bytes for 58 mm (32 columns) and 80 mm (48 columns) thermal printers.

The bytes are emitted directly rather than through python-escpos's `Dummy`: its text path
selects single-byte code pages (`ESC t`) and has no GB18030 + `FS &` Chinese mode, which is
what hall printers use, and the handful of commands below is clearer as bytes than as a
printer object's state. `tests/test_escpos.py` checks the result with our own decoder.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
LF = b"\n"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."
ENCODING = "gb18030"

_ALIGN = {"left": 0, "center": 1, "right": 2}
_QR_LEVEL = {"L": 48, "M": 49, "Q": 50, "H": 51}


class TicketLayout(BaseModel):
    """How tickets look at one dispenser (from the hall config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paper_mm: Literal[58, 80] = 80
    hall_name: str
    number_size: int = Field(4, ge=1, le=8, description="magnification of the ticket number")
    qr_module: int = Field(6, ge=1, le=16, description="QR module size in dots")
    qr_error: Literal["L", "M", "Q", "H"] = "M"
    footer: str = ""
    feed_lines: int = Field(3, ge=0, le=255, description="fed before the cut")

    @property
    def columns(self) -> int:
        return 32 if self.paper_mm == 58 else 48


class TicketContent(BaseModel):
    """What one ticket says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_name: str
    ticket: str
    ahead: int = Field(ge=0)
    est_wait_min: float | None = None
    issued_at: datetime
    qr_payload: str | None = None


def display_width(text: str) -> int:
    """Columns at normal size: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, columns: int) -> list[str]:
    lines, current, width = [], "", 0
    for ch in text:
        w = display_width(ch)
        if width + w > columns:
            lines.append(current)
            current, width = "", 0
        current += ch
        width += w
    return [*lines, current] if current or not lines else lines


def align(where: Literal["left", "center", "right"]) -> bytes:
    return ESC + b"a" + bytes([_ALIGN[where]])


def size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n: high nibble width, low nibble height, each magnification-1 (0..7)."""
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def text_line(text: str, columns: int, magnification: int = 1) -> bytes:
    out = b""
    for line in wrap(text, max(1, columns // magnification)):
        out += line.encode(ENCODING, errors="replace") + LF
    return out


def qr(payload: str, module: int = 6, level: Literal["L", "M", "Q", "H"] = "M") -> bytes:
    """GS ( k with cn=49: fn 167 module size, 169 error level, 180 store, 181 print."""
    data = payload.encode("utf-8")

    def fn(code: int, params: bytes) -> bytes:
        n = len(params) + 2
        return GS + b"(k" + bytes([n & 0xFF, n >> 8, 49, code]) + params

    return (
        fn(65, bytes([50, 0]))  # fn 165: model 2
        + fn(67, bytes([module]))  # fn 167
        + fn(69, bytes([_QR_LEVEL[level]]))  # fn 169
        + fn(80, b"\x30" + data)  # fn 180: store
        + fn(81, b"\x30")  # fn 181: print
    )


def cut(feed: int = 3) -> bytes:
    return GS + b"V" + bytes([66, feed])  # feed n lines, then partial cut


def build_ticket(layout: TicketLayout, content: TicketContent) -> bytes:
    cols = layout.columns
    big = layout.number_size
    out = INIT + CHINESE_ON
    out += align("center") + size(2, 2) + text_line(layout.hall_name, cols, 2)
    out += size() + text_line(content.service_name, cols)
    out += size(big, big) + text_line(content.ticket, cols, big)
    out += size() + text_line(f"前面还有 {content.ahead} 人等候", cols)
    if content.est_wait_min is not None:
        out += text_line(f"预计等待约 {round(content.est_wait_min)} 分钟", cols)
    out += text_line(content.issued_at.strftime("%Y-%m-%d %H:%M:%S"), cols)
    if content.qr_payload:
        out += qr(content.qr_payload, layout.qr_module, layout.qr_error) + LF
    if layout.footer:
        out += text_line(layout.footer, cols)
    return out + CHINESE_OFF + align("left") + cut(layout.feed_lines)
