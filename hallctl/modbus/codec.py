"""Register values <-> typed values, for one point of a register map.

Modbus itself only knows 16-bit registers and single bits; everything else (32-bit numbers
split over two registers in either word order, bit fields, text packed two bytes a register)
is vendor convention, so it is described per point in the profile and applied here.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .profile import Point

Value = int | float | bool | str | tuple[bool, ...]


class CodecError(ValueError):
    """A value cannot be written to a point (wrong type, out of range)."""


_STRUCT = {"u16": ">H", "i16": ">h", "u32": ">I", "i32": ">i", "f32": ">f"}


def _regs_to_bytes(regs: Sequence[int], byte_order: str) -> bytes:
    out = bytearray()
    for reg in regs:
        out += (reg & 0xFFFF).to_bytes(2, "big" if byte_order == "big" else "little")
    return bytes(out)


def _bytes_to_regs(data: bytes, byte_order: str) -> list[int]:
    return [
        int.from_bytes(data[i : i + 2], "big" if byte_order == "big" else "little")
        for i in range(0, len(data), 2)
    ]


def decode(point: Point, raw: Sequence[int] | Sequence[bool]) -> Value:
    """Decode the raw registers or bits of ``point`` (exactly ``point.span`` of them)."""
    if point.table in ("coil", "discrete"):
        bits = tuple(bool(b) for b in raw[: point.count])
        return bits[0] if point.type == "bool" else bits
    regs = [int(r) for r in raw[: point.span]]
    if point.type == "bits":
        return tuple(bool(reg >> bit & 1) for reg in regs for bit in range(16))
    if point.type == "bool":
        return bool(regs[0] >> (point.bit or 0) & 1)
    if point.type == "text":
        data = _regs_to_bytes(regs, point.byte_order)
        # devices pad with NUL or spaces; a half-written GB2312 character is dropped
        return data.split(b"\0", 1)[0].decode(point.encoding, errors="ignore").rstrip()
    if point.type in ("u32", "i32", "f32") and point.word_order == "little":
        regs = regs[::-1]
    number: int | float = struct.unpack(_STRUCT[point.type], _regs_to_bytes(regs, "big"))[0]
    if point.scale != 1:
        return number * point.scale
    return number


def _encode_text(point: Point, value: str) -> list[int]:
    room = point.span * 2
    data = b""
    for ch in value:  # cut on a character boundary, never inside a GB2312 pair
        enc = ch.encode(point.encoding, errors="replace")
        if len(data) + len(enc) > room:
            break
        data += enc
    data = data.ljust(room, point.pad.encode("ascii"))
    return _bytes_to_regs(data, point.byte_order)


def encode(point: Point, value: Any) -> list[int] | list[bool]:
    """Encode ``value`` into the registers or bits of ``point`` (a write of ``point.span``)."""
    if point.table in ("coil", "discrete"):
        if point.type == "bool":
            return [bool(value)]
        bits = [bool(b) for b in value]
        if len(bits) != point.count:
            raise CodecError(f"expected {point.count} bits, got {len(bits)}")
        return bits
    if point.type == "text":
        return _encode_text(point, "" if value is None else str(value))
    if point.type == "bits":
        bits = [bool(b) for b in value]
        regs = [0] * point.span
        for i, bit in enumerate(bits[: point.span * 16]):
            regs[i // 16] |= int(bit) << (i % 16)
        return regs
    if point.type == "bool":
        return [int(bool(value)) << (point.bit or 0)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value) if point.type == "f32" else int(value)
        except (TypeError, ValueError) as exc:
            raise CodecError(f"{value!r} is not a number") from exc
    raw: int | float = value / point.scale if point.scale != 1 else value
    if point.type != "f32":
        raw = round(raw)
    try:
        data = struct.pack(_STRUCT[point.type], raw)
    except struct.error as exc:
        raise CodecError(f"{value!r} does not fit {point.type}") from exc
    regs = _bytes_to_regs(data, "big")
    if point.type in ("u32", "i32", "f32") and point.word_order == "little":
        regs = regs[::-1]
    return regs
