"""ESC/POS real-time status: `DLE EOT n` requests and what the answer bytes mean (Epson).

Every answer byte has bit 1 and bit 4 set and bits 0 and 7 clear; anything else is not a
status answer (line noise, or a printer that does not implement DLE EOT).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR = 1, 2, 3, 4
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12


def status_request(n: int) -> bytes:
    if n not in (PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR):
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    return bytes([0x10, 0x04, n])


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False
    recoverable_error: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False

    @property
    def ok(self) -> bool:
        return not (self.offline or self.paper_out or self.cover_open or self.error)


def is_status_byte(b: int) -> bool:
    return b & _FIXED_MASK == _FIXED_BITS


def apply_status(status: PrinterStatus, n: int, answer: int) -> PrinterStatus | None:
    """`status` updated with the answer to `DLE EOT n`; None if `answer` is not a status byte."""
    if not is_status_byte(answer):
        return None
    if n == PRINTER:
        return replace(status, offline=bool(answer & 0x08))
    if n == OFFLINE_CAUSE:
        return replace(
            status,
            cover_open=bool(answer & 0x04),
            paper_out=status.paper_out or bool(answer & 0x20),  # "stopped by paper end"
            error=bool(answer & 0x40),
        )
    if n == ERROR_CAUSE:
        return replace(
            status,
            recoverable_error=bool(answer & 0x04),
            cutter_error=bool(answer & 0x08),
            unrecoverable_error=bool(answer & 0x20),
            error=status.error or bool(answer & 0x68),
        )
    if n == PAPER_SENSOR:
        return replace(
            status,
            paper_near_end=bool(answer & 0x0C),
            paper_out=bool(answer & 0x60),
        )
    return None


def encode_status(n: int, status: PrinterStatus) -> int:
    """The byte a printer in `status` answers to `DLE EOT n` (for the simulator)."""
    b = _FIXED_BITS
    if n == PRINTER:
        b |= 0x08 if status.offline or not status.ok else 0
    elif n == OFFLINE_CAUSE:
        b |= (0x04 if status.cover_open else 0) | (0x20 if status.paper_out else 0)
        b |= 0x40 if status.error else 0
    elif n == ERROR_CAUSE:
        b |= (0x04 if status.recoverable_error else 0) | (0x08 if status.cutter_error else 0)
        b |= 0x20 if status.unrecoverable_error else 0
    elif n == PAPER_SENSOR:
        b |= (0x0C if status.paper_near_end else 0) | (0x60 if status.paper_out else 0)
    return b
