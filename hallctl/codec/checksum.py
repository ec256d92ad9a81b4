"""Checksums used by serial frame profiles, selected by name.

Every algorithm is a plain function of the covered bytes; the profile decides which bytes
are covered and how the result is laid out on the wire (width, byte order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ChecksumName = Literal[
    "sum8", "xor8", "crc16-modbus", "crc16-arc", "crc16-ccitt-false", "crc16-xmodem"
]


def sum8(data: bytes) -> int:
    return sum(data) & 0xFF


def xor8(data: bytes) -> int:
    acc = 0
    for b in data:
        acc ^= b
    return acc


def _reflected_table(poly: int) -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _msb_table(poly: int) -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_A001 = _reflected_table(0xA001)  # reflected 0x8005: ARC and MODBUS
_1021 = _msb_table(0x1021)  # CCITT family, not reflected


def _crc16_reflected(data: bytes, init: int) -> int:
    crc = init
    for b in data:
        crc = (crc >> 8) ^ _A001[(crc ^ b) & 0xFF]
    return crc


def _crc16_msb(data: bytes, init: int) -> int:
    crc = init
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _1021[((crc >> 8) ^ b) & 0xFF]
    return crc


def crc16_arc(data: bytes) -> int:
    return _crc16_reflected(data, 0x0000)


def crc16_modbus(data: bytes) -> int:
    return _crc16_reflected(data, 0xFFFF)


def crc16_ccitt_false(data: bytes) -> int:
    return _crc16_msb(data, 0xFFFF)


def crc16_xmodem(data: bytes) -> int:
    return _crc16_msb(data, 0x0000)


@dataclass(frozen=True, slots=True)
class Algorithm:
    name: ChecksumName
    width: int  # bytes on the wire
    compute: Callable[[bytes], int]


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("sum8", 1, sum8),
        Algorithm("xor8", 1, xor8),
        Algorithm("crc16-modbus", 2, crc16_modbus),
        Algorithm("crc16-arc", 2, crc16_arc),
        Algorithm("crc16-ccitt-false", 2, crc16_ccitt_false),
        Algorithm("crc16-xmodem", 2, crc16_xmodem),
    )
}


def checksum_bytes(name: str, data: bytes, byteorder: Literal["big", "little"]) -> bytes:
    """The checksum of `data` as it appears on the wire."""
    algo = ALGORITHMS[name]
    return algo.compute(data).to_bytes(algo.width, byteorder)
