"""Checksums: the catalogue check values of the CRC-16 family, and the simple sums."""

import pytest

from hallctl.codec.checksum import ALGORITHMS, checksum_bytes

CHECK = b"123456789"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("crc16-arc", 0xBB3D),
        ("crc16-modbus", 0x4B37),
        ("crc16-ccitt-false", 0x29B1),
        ("crc16-xmodem", 0x31C3),
        ("sum8", sum(CHECK) & 0xFF),
        ("xor8", 0x31),
    ],
)
def test_catalogue_check_values(name: str, expected: int) -> None:
    assert ALGORITHMS[name].compute(CHECK) == expected


def test_wire_layout_follows_byte_order() -> None:
    assert checksum_bytes("crc16-modbus", CHECK, "little") == bytes([0x37, 0x4B])
    assert checksum_bytes("crc16-modbus", CHECK, "big") == bytes([0x4B, 0x37])


def test_modbus_frame_checks_to_zero_residue() -> None:
    # a Modbus RTU request with its CRC appended has CRC 0 over the whole frame
    pdu = bytes.fromhex("01 03 00 00 00 0A")
    assert (
        ALGORITHMS["crc16-modbus"].compute(pdu + checksum_bytes("crc16-modbus", pdu, "little")) == 0
    )
