"""Register codec, templates and read coalescing: the pure layers under the Modbus driver."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hallctl.modbus.codec import CodecError, decode, encode
from hallctl.modbus.health import DeviceHealth
from hallctl.modbus.plan import ReadBlock, coalesce, split_block
from hallctl.modbus.profile import Point
from hallctl.modbus.template import TemplateError, render


def reg(type_: str, **kw: object) -> Point:
    return Point.model_validate({"table": "holding", "address": 0, "type": type_, **kw})


# -- codec ----------------------------------------------------------------------------------
def test_u32_word_order_decides_which_register_is_high() -> None:
    assert decode(reg("u32"), [0x0001, 0x0002]) == 0x00010002
    assert decode(reg("u32", word_order="little"), [0x0001, 0x0002]) == 0x00020001


def test_signed_and_scaled_values() -> None:
    assert decode(reg("i16"), [0xFFFE]) == -2
    assert decode(reg("i16", scale=0.1), [0xFF9C]) == pytest.approx(-10.0)
    assert encode(reg("u16", scale=0.1), 12.3) == [123]


def test_f32_matches_ieee754_big_endian() -> None:
    assert decode(reg("f32"), [0x3FC0, 0x0000]) == 1.5
    assert encode(reg("f32", word_order="little"), 1.5) == [0x0000, 0x3FC0]


def test_gb2312_text_two_bytes_a_register_padded_and_never_split() -> None:
    p = reg("text", count=3, encoding="gb2312")
    regs = encode(p, "王芳好人")  # 8 bytes of GB2312 into 6: the last whole char is dropped
    assert len(regs) == 3
    assert decode(p, regs) == "王芳好"
    short = encode(p, "A1")
    assert short[0] == 0x4131 and short[1:] == [0x2020, 0x2020]
    assert decode(p, short) == "A1"


def test_text_little_byte_order_swaps_within_the_register() -> None:
    p = reg("text", count=1, byte_order="little")
    assert encode(p, "AB") == [0x4241]
    assert decode(p, [0x4241]) == "AB"


def test_bit_fields_of_a_register() -> None:
    assert decode(reg("bool", bit=3), [0b1000]) is True
    assert decode(reg("bool", bit=2), [0b1000]) is False
    bits = decode(reg("bits", count=1), [0b101])
    assert isinstance(bits, tuple) and bits[:3] == (True, False, True) and len(bits) == 16


def test_values_that_do_not_fit_are_refused() -> None:
    with pytest.raises(CodecError):
        encode(reg("u16"), 70000)
    with pytest.raises(CodecError):
        encode(reg("i16"), "many")


@given(
    st.sampled_from(["u16", "i16", "u32", "i32"]),
    st.sampled_from(["big", "little"]),
    st.integers(min_value=-(2**31), max_value=2**32 - 1),
)
def test_integers_round_trip_when_they_fit(type_: str, order: str, value: int) -> None:
    p = reg(type_, word_order=order)
    bits = 16 if type_.endswith("16") else 32
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if type_[0] == "i" else (0, 2**bits - 1)
    if lo <= value <= hi:
        assert decode(p, encode(p, value)) == value
    else:
        with pytest.raises(CodecError):
            encode(p, value)


@given(st.floats(width=32, allow_nan=False))
def test_f32_round_trips(value: float) -> None:
    out = decode(reg("f32", word_order="little"), encode(reg("f32", word_order="little"), value))
    assert out == value or (math.isinf(value) and out == value)


# -- templates ----------------------------------------------------------------------------------
CTX = {"window": 5, "services": ["BDC", "GJJ"], "index": 1,
       "state": {"current": {"ticket": "A012"}, "staff": None}}


def test_a_whole_placeholder_keeps_its_type_and_text_makes_a_string() -> None:
    assert render("{window}", CTX) == 5
    assert render("请到{window}号窗口", CTX) == "请到5号窗口"
    assert render({"a": ["{window}", 1]}, CTX) == {"a": [5, 1]}


def test_index_digits_and_defaults() -> None:
    assert render("{services[index]}", CTX) == "GJJ"
    assert render("{state.current.ticket|digits}", CTX) == 12
    assert render("{state.staff.name|default:}", CTX) == ""
    assert render("{state.nothing|default:0}", CTX) == "0"


def test_a_missing_name_without_default_is_an_error_not_a_none() -> None:
    with pytest.raises(TemplateError):
        render("{services[9]}", CTX)
    with pytest.raises(TemplateError):
        render("{nope}", CTX)


# -- coalescing ---------------------------------------------------------------------------------
def points(**spec: tuple[str, int, int]) -> dict[str, Point]:
    out = {}
    for name, (table, address, count) in spec.items():
        kind = "bits" if table in ("coil", "discrete") else ("text" if count > 1 else "u16")
        out[name] = Point.model_validate(
            {"table": table, "address": address, "type": kind, "count": count})
    return out


def test_adjacent_registers_become_one_read_and_gaps_only_when_allowed() -> None:
    pts = points(a=("holding", 0, 1), b=("holding", 1, 1), c=("holding", 5, 2))
    assert coalesce(pts, pts, max_gap=0) == [
        ReadBlock("holding", 0, 2, ("a", "b")), ReadBlock("holding", 5, 2, ("c",))]
    assert coalesce(pts, pts, max_gap=3) == [ReadBlock("holding", 0, 7, ("a", "b", "c"))]


def test_tables_are_never_mixed_and_125_registers_is_the_ceiling() -> None:
    pts = points(a=("holding", 0, 100), b=("holding", 100, 30), c=("input", 0, 1))
    blocks = coalesce(pts, pts, max_gap=10)
    assert [(b.table, b.address, b.count) for b in blocks] == [
        ("input", 0, 1), ("holding", 0, 100), ("holding", 100, 30)]
    assert all(b.count <= 125 for b in blocks)


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 20)), min_size=1, max_size=30),
       st.integers(0, 8))
def test_every_point_is_covered_by_exactly_one_block_within_limits(
    spans: list[tuple[int, int]], gap: int
) -> None:
    pts = points(**{f"p{i}": ("holding", a, c) for i, (a, c) in enumerate(spans)})
    blocks = coalesce(pts, pts, max_gap=gap)
    covered = [name for b in blocks for name in b.points]
    assert sorted(covered) == sorted(pts)
    for b in blocks:
        assert 1 <= b.count <= 125
        for name in b.points:
            p = pts[name]
            assert b.address <= p.address and p.address + p.span <= b.address + b.count


def test_split_block_decodes_each_point_from_its_offset() -> None:
    pts = points(a=("holding", 10, 1), t=("holding", 12, 2))
    block = ReadBlock("holding", 10, 4, ("a", "t"))
    assert split_block(pts, block, [7, 0, 0x4130, 0x3132]) == {"a": 7, "t": "A012"}


# -- degradation --------------------------------------------------------------------------------
def test_a_device_goes_offline_after_threshold_and_is_probed_once_per_backoff() -> None:
    h = DeviceHealth(fail_threshold=3, backoff=10.0)
    assert h.attempts(retries=2) == 3
    assert [h.failed(t) for t in (0.0, 1.0, 2.0)] == [False, False, True]
    assert h.state == "offline" and h.ready_at() == 12.0
    assert h.attempts(retries=2) == 1  # the probe: one timeout at most
    assert h.failed(12.0) is False and h.ready_at() == 22.0
    assert h.answered() is True and h.state == "online" and h.ready_at() == 0.0
    assert h.answered() is False
