"""Frames of the built-in profiles: wire bytes as the protocol notes give them, round trips,
input mapping, acknowledgements and output templates."""

import pytest

from hallctl.codec.frame import EncodeError, FrameDecoder, encode_frame
from hallctl.codec.loader import load_profile
from hallctl.codec.mapping import ack_frame, decode_output, match_input, render_output

KEYPAD = load_profile("ff68-keypad")
EVALUATOR = load_profile("ff68-evaluator")
ONBON = load_profile("onbon-bx5")
STRIP = load_profile("at-strip")


def ff68(addr: int, func: int, data: bytes) -> bytes:
    """A frame written out by hand from protocols §1, independent of the codec."""
    n = 2 + len(data)
    cs = (addr + func + sum(data)) & 0xFF
    return bytes([0xFF, 0x68, n, n, 0x68, addr, func, *data, cs, 0x16])


def test_ff68_encoding_matches_the_protocol_notes() -> None:
    assert encode_frame(KEYPAD, address=5, function=0x02, data=b"\x01\x0c") == ff68(
        5, 2, b"\x01\x0c"
    )
    assert render_output(KEYPAD, "beep", address=9) == ff68(9, 0x03, b"")


@pytest.mark.parametrize(
    ("data", "action"),
    [
        (b"\x00\x0c", "call_next"),
        (b"\x0d", "recall"),
        (b"\x0b", "request_evaluation"),
        (b"\x12", "pause_window"),
        (b"\x13", "transfer"),
        (b"\x06\x0f", "no_show"),
        (b"\x00\x0f", "suspend"),
        (b"\x03\x0f", "call_back"),
        (b"\x0e", None),
        (b"\x09\x0f", None),
    ],
)
def test_every_keypad_key_maps_to_its_action(data: bytes, action: str | None) -> None:
    [frame] = FrameDecoder(KEYPAD).feed(ff68(7, 0x01, data))
    assert frame.address == 7
    mapped = match_input(KEYPAD, frame)
    assert mapped is not None
    assert mapped.action == action


def test_unknown_key_matches_no_rule() -> None:
    [frame] = FrameDecoder(KEYPAD).feed(ff68(7, 0x01, b"\x55"))
    assert match_input(KEYPAD, frame) is None


def test_keypad_frames_are_acknowledged_by_echo() -> None:
    wire = ff68(7, 0x01, b"\x0c")
    [frame] = FrameDecoder(KEYPAD).feed(wire)
    assert ack_frame(KEYPAD, frame) == wire


@pytest.mark.parametrize(("button", "level"), [(0, 5), (1, 4), (2, 3), (3, 2)])
def test_evaluator_button_maps_to_level_and_reply_echoes_it(button: int, level: int) -> None:
    [frame] = FrameDecoder(EVALUATOR).feed(ff68(12, 0x11, bytes([button])))
    mapped = match_input(EVALUATOR, frame)
    assert mapped is not None
    assert (mapped.action, mapped.fields) == ("evaluate", {"level": level})
    assert ack_frame(EVALUATOR, frame) == ff68(12, 0x01, bytes([button]))


def test_evaluator_button_outside_the_map_is_not_an_evaluation() -> None:
    [frame] = FrameDecoder(EVALUATOR).feed(ff68(12, 0x11, b"\x07"))
    assert match_input(EVALUATOR, frame) is None


def test_evaluator_outputs() -> None:
    assert render_output(EVALUATOR, "start_evaluation", address=12) == ff68(12, 0x01, b"\x0b")
    assert render_output(EVALUATOR, "set_stars", address=12, level=4) == ff68(12, 0x02, b"\x04")


def test_keypad_empty_cells_are_0x0a_and_the_waiting_count_is_zero_padded() -> None:
    assert render_output(KEYPAD, "show_ticket", address=1, number="012") == ff68(
        1, 0x02, bytes([10, 10, 10, 0, 1, 2])
    )
    assert render_output(KEYPAD, "show_waiting", address=1, waiting="7") == ff68(
        1, 0x02, bytes([0, 0, 7, 10, 10, 10])
    )
    both = render_output(KEYPAD, "show_digits", address=1, waiting="15", number="123")
    assert both == ff68(1, 0x02, bytes([0, 1, 5, 1, 2, 3]))
    nobody = render_output(KEYPAD, "show_digits", address=1, waiting="0", number="7")
    assert nobody == ff68(1, 0x02, bytes([0, 0, 0, 10, 10, 7]))
    unknown = render_output(KEYPAD, "show_digits", address=1, number="7")
    assert unknown == ff68(1, 0x02, bytes([10, 10, 10, 10, 10, 7]))


def test_output_parameter_errors_are_refused() -> None:
    with pytest.raises(EncodeError, match="more than 3 digits"):
        render_output(KEYPAD, "show_ticket", address=1, number="1234")
    with pytest.raises(EncodeError, match="missing parameter 'number'"):
        render_output(KEYPAD, "show_ticket", address=1)
    with pytest.raises(EncodeError, match="unknown parameter"):
        render_output(KEYPAD, "beep", address=1, loud=True)
    with pytest.raises(EncodeError, match="no output 'dance'"):
        render_output(KEYPAD, "dance", address=1)


def test_onbon_frame_layout_escapes_and_crc() -> None:
    wire = render_output(ONBON, "show_text", address=1, text="请A012号到5号窗口")
    assert wire.startswith(bytes([0xA5] * 8) + b"\x01\x00\x00\x80" + bytes(6) + b"\xfe\x02")
    assert wire.endswith(b"\x5a")
    body = wire[8:-1]
    assert 0xA5 not in body and 0x5A not in body
    [frame] = FrameDecoder(ONBON).feed(wire)
    assert frame.function == 0xA306
    name, params = decode_output(ONBON, frame) or ("", {})
    assert name == "show_text"
    assert params["text"] == "请A012号到5号窗口"


def test_onbon_dynamic_area_payload_matches_the_documented_layout_field_by_field() -> None:
    """01 | 00 (init) | 00 | delete-count | area-count | area-data length u16 | area type |
    X Y W H | area id | line spacing | run mode | timeout u16 | voice flag | ext count | align |
    single-line | newline | display mode | exit mode | speed | stay | text length u32 | text"""
    text = "请A012号到5号窗口"
    params = dict(x=0x0102, y=0x0304, width=0x0506, height=0x0708, area=3, line_spacing=4,
                  run_mode=2, timeout=0x0910, voice=1, align=2, single_line=2, newline=2,
                  display_mode=3, exit_mode=4, speed=0x17, stay=0x21, area_type=0x06)
    wire = render_output(ONBON, "show_text", address=7, text=text, **params)
    [frame] = FrameDecoder(ONBON).feed(wire)
    assert frame.function == 0xA306 and frame.address == 7
    p = frame.data  # unescaped payload after A3 06
    gb = text.encode("gb2312")
    assert p[0] == 0x01  # reply flag (documented 01)
    assert p[1] == 0x00  # process: initialise
    assert p[2] == 0x00
    assert p[3] == 0x00  # delete-count
    assert p[4] == 0x01  # area-count
    area_len = int.from_bytes(p[5:7], "little")
    assert area_len == len(p) - 7 == 27 + len(gb)  # the area block: area type through text
    area = p[7:]
    assert area[0] == 0x06  # area type
    assert area[1:3] == b"\x02\x01" and area[3:5] == b"\x04\x03"  # X, Y u16 LE
    assert area[5:7] == b"\x06\x05" and area[7:9] == b"\x08\x07"  # W, H u16 LE
    assert list(area[9:12]) == [3, 4, 2]  # area id, line spacing, run mode
    assert area[12:14] == b"\x10\x09"  # timeout u16 LE
    assert area[14] == 1 and area[15] == 0  # voice flag, ext count (none)
    assert list(area[16:23]) == [2, 2, 2, 3, 4, 0x17, 0x21]  # align … stay
    assert int.from_bytes(area[23:27], "little") == len(gb)  # text length u32 LE
    assert area[27:] == gb
    # and the frame around it: length field counts A3 06 + payload; CRC-16/ARC unescaped
    from hallctl.codec.checksum import crc16_arc

    header = bytes([0x07, 0x00, 0x00, 0x80, *bytes(6), 0xFE, 0x02])
    length = (2 + len(p)).to_bytes(2, "little")
    unescaped = header + length + b"\xa3\x06" + p
    assert decode_output(ONBON, frame) == ("show_text", {"text": text, **params, "reply": 1,
                                                         "process": 0})
    assert frame.raw == wire
    crc = crc16_arc(unescaped).to_bytes(2, "little")
    table = {0xA5: b"\xa6\x02", 0x5A: b"\x5b\x02", 0xA6: b"\xa6\x01", 0x5B: b"\x5b\x01"}
    escaped = b"".join(table.get(b, bytes([b])) for b in unescaped + crc)
    assert wire == bytes([0xA5] * 8) + escaped + b"\x5a"


@pytest.mark.parametrize("special", [0xA5, 0x5A, 0xA6, 0x5B])
def test_onbon_bytes_that_need_escaping_round_trip(special: int) -> None:
    # screen address 0x5AA5 puts escapable bytes into the header fields too
    wire = render_output(ONBON, "show_text", address=0x5AA5, x=special, text="窗口")
    assert wire.count(0xA5) == 8 and wire.count(0x5A) == 1
    [frame] = FrameDecoder(ONBON).feed(wire)
    assert frame.address == 0x5AA5
    assert (decode_output(ONBON, frame) or ("", {}))[1]["x"] == special


def test_onbon_crc_is_arc_over_unescaped_bytes_after_preamble() -> None:
    from hallctl.codec.checksum import crc16_arc

    wire = render_output(ONBON, "show_text", address=1, text="A")
    body = wire[8:-1]  # nothing in this frame needs escaping except possibly the CRC
    crc = int.from_bytes(body[-2:], "little") if 0xA6 not in body and 0x5B not in body else None
    if crc is not None:
        assert crc == crc16_arc(body[:-2])


def test_at_strip_frame_and_text() -> None:
    wire = render_output(STRIP, "show_text", address=3, text="A012 请到5号窗口")
    assert wire == b"@03" + "A012 请到5号窗口".encode("gb2312") + b"\r"
    [frame] = FrameDecoder(STRIP).feed(wire)
    assert frame.address == 3
    with pytest.raises(EncodeError, match="terminator"):
        render_output(STRIP, "show_text", address=3, text="two\rlines")


def test_frames_split_across_feeds_are_reassembled() -> None:
    wire = ff68(1, 1, b"\x0c") + ff68(2, 1, b"\x0d")
    dec = FrameDecoder(KEYPAD)
    got = [f for b in wire for f in dec.feed(bytes([b]))]
    assert [f.address for f in got] == [1, 2]
    assert dec.bad_frames() == 0


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        (lambda w: w[:-2] + bytes([w[-2] ^ 1]) + w[-1:], "checksum"),
        (lambda w: w[:2] + bytes([w[2], w[3] + 1]) + w[4:], "length"),
        (lambda w: w[:-1] + b"\x17", "framing"),
    ],
)
def test_bad_frames_are_counted_by_reason_and_the_next_frame_survives(corrupt, reason) -> None:  # type: ignore[no-untyped-def]
    good = ff68(3, 1, b"\x0c")
    dec = FrameDecoder(KEYPAD)
    frames = dec.feed(corrupt(ff68(2, 1, b"\x0c")) + good)
    assert [f.raw for f in frames] == [good]
    assert dec.stats[reason] == 1


def test_truncated_frame_does_not_swallow_the_next() -> None:
    good = ff68(3, 1, b"\x0c")
    dec = FrameDecoder(KEYPAD)
    assert [f.raw for f in dec.feed(ff68(2, 1, b"\x00\x0c")[:6] + good)] == [good]
    assert dec.bad_frames() == 1
