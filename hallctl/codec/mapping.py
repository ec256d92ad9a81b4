"""What frames mean: input rules (frame -> hall action), acknowledgements, output templates.

Pure functions of a profile; drivers combine them with a serial line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hallctl.codec.frame import EncodeError, Frame, encode_frame
from hallctl.codec.profile import (
    AckRule,
    DataItem,
    FieldFrom,
    FrameProfile,
    InputMatch,
    OutputTemplate,
    parse_hex,
)


@dataclass(frozen=True, slots=True)
class InputAction:
    """A device input mapped to a hall request (without `window`: the driver knows that)."""

    action: str | None  # None: a known frame that does nothing (still acknowledged)
    fields: dict[str, Any] = field(default_factory=dict)


def _byte_at(data: bytes, index: int) -> int | None:
    return data[index] if -len(data) <= index < len(data) else None


def _one_of(value: int | None, wanted: int | list[int]) -> bool:
    return value is not None and value in (wanted if isinstance(wanted, list) else [wanted])


def _matches(m: InputMatch, frame: Frame) -> bool:
    if len(frame.data) < m.min_data:
        return False
    if m.function is not None and not _one_of(frame.function, m.function):
        return False
    if m.function_not is not None and _one_of(frame.function, m.function_not):
        return False
    return all(_one_of(_byte_at(frame.data, i), v) for i, v in m.data.items())


def match_input(profile: FrameProfile, frame: Frame) -> InputAction | None:
    """The first input rule that matches and whose fields resolve; None if no rule does."""
    for rule in profile.inputs:
        if not _matches(rule.match, frame):
            continue
        fields: dict[str, Any] = {}
        for name, spec in rule.fields.items():
            if not isinstance(spec, FieldFrom):
                fields[name] = spec
                continue
            byte = _byte_at(frame.data, spec.data_index)
            value = byte if spec.map is None or byte is None else spec.map.get(byte)
            if value is None:
                break  # e.g. an evaluator button this model does not have
            fields[name] = value
        else:
            return InputAction(rule.action, fields)
    return None


def ack_frame(profile: FrameProfile, frame: Frame, rule: AckRule | None = None) -> bytes | None:
    """The bytes that acknowledge `frame` (host side: `profile.ack`), or None."""
    rule = rule or profile.ack
    if rule.mode == "none":
        return None
    if rule.mode == "echo":
        return frame.raw
    if rule.echo_data == "all":
        data = frame.data
    else:
        picked = [_byte_at(frame.data, i) for i in rule.echo_data]
        data = bytes(b for b in picked if b is not None)
    return encode_frame(profile, address=frame.address, function=rule.function, data=data)


def reply_predicate(profile: FrameProfile, sent: bytes) -> Callable[[Frame], bool] | None:
    """How to recognise the device's answer to `sent` (profile.device_ack), or None."""
    rule = profile.device_ack
    if rule.mode == "none":
        return None
    if rule.mode == "echo":
        return lambda f: f.raw == sent
    function = rule.function
    return lambda f: f.function == function


# ---- outputs --------------------------------------------------------------------------------

_SIZES = {"u8": 1, "u16le": 2, "u16be": 2, "u32le": 4, "u32be": 4}


def _int(item: DataItem, value: Any, size: int) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool):
        raise EncodeError(f"{item.type} item needs an integer, got {value!r}")
    try:
        return value.to_bytes(size, "little" if item.type.endswith("le") else "big")
    except OverflowError:
        raise EncodeError(f"{value} does not fit {item.type}") from None


def _digits(item: DataItem, value: Any) -> bytes:
    assert item.width is not None
    text = "" if value is None else str(value)
    if not text.isdigit() and text != "":
        raise EncodeError(f"digits item needs decimal digits, got {value!r}")
    if len(text) > item.width:
        raise EncodeError(f"{text!r} has more than {item.width} digits")
    cells = [int(c) for c in text]
    # An empty value shows blank cells; a short number is padded (zeros on keypads: `0 0 7`).
    fill = item.blank if not cells or item.pad is None else item.pad
    pad = [fill] * (item.width - len(cells))
    return bytes(pad + cells if item.align == "right" else cells + pad)


def _item_bytes(item: DataItem, value: Any, encoding: str) -> bytes:
    if item.type == "hex":
        return parse_hex(value)
    if item.type in _SIZES:
        return _int(item, value, _SIZES[item.type])
    if item.type == "digits":
        return _digits(item, value)
    if item.type == "bcd":
        width = item.width or 1
        digits = str(value).zfill(width * 2)
        if not digits.isdigit() or len(digits) != width * 2:
            raise EncodeError(f"{value!r} is not {width} BCD byte(s)")
        return bytes.fromhex(digits)
    raw = str(value).encode(encoding, errors="replace")
    if item.width is not None and len(raw) > item.width:
        # cut on a character boundary so a GB2312 character is never split in half
        raw = raw[: item.width].decode(encoding, errors="ignore").encode(encoding)
    return raw


def build_data(template: OutputTemplate, params: Mapping[str, Any], encoding: str) -> bytes:
    unknown = set(params) - set(template.params)
    if unknown:
        raise EncodeError(f"unknown parameter(s) {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in template.params.items():
        if name in params:
            values[name] = params[name]
        elif spec.default is not None or not spec.required:
            values[name] = spec.default
        else:
            raise EncodeError(f"missing parameter {name!r}")
    parts: list[bytes | None] = []
    for item in template.data:  # first pass: everything except lengths
        if item.length_of is not None:
            parts.append(None)
            continue
        value = item.value if item.param is None else values[item.param]
        parts.append(_item_bytes(item, value, encoding))
    # a length item's own size is fixed by its type, so a span may hold other lengths
    sizes = [
        len(p) if p is not None else _SIZES[i.type]
        for p, i in zip(parts, template.data, strict=True)
    ]
    for k, item in enumerate(template.data):
        if item.length_of is not None:
            first, last = _span(template, item.length_of)
            parts[k] = _item_bytes(item, sum(sizes[first : last + 1]), encoding)
    return b"".join(p for p in parts if p is not None)


def _span(template: OutputTemplate, length_of: str | list[str]) -> tuple[int, int]:
    """Indexes of the first and last item a length counts."""
    names = [i.name for i in template.data]
    refs = [length_of] if isinstance(length_of, str) else length_of
    return names.index(refs[0]), names.index(refs[-1])


def render_output(profile: FrameProfile, name: str, *, address: int | None, **params: Any) -> bytes:
    """Frame bytes for the output template `name`, e.g. render_output(p, "beep", address=3)."""
    template = profile.outputs.get(name)
    if template is None:
        raise EncodeError(f"profile {profile.name!r} has no output {name!r}")
    data = build_data(template, params, profile.encoding)
    return encode_frame(profile, address=address, function=template.function, data=data)


def _parse_items(template: OutputTemplate, data: bytes, encoding: str) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    lengths: dict[str, int] = {}
    spans: list[tuple[int, int]] = []  # (item index of the length, its value), checked at the end
    starts: list[int] = []  # byte offset where each item starts
    i = 0
    for k, item in enumerate(template.data):
        starts.append(i)
        if item.type == "hex":
            const = parse_hex(item.value)
            if data[i : i + len(const)] != const:
                return None
            i += len(const)
            continue
        if item.type in _SIZES:
            n = _SIZES[item.type]
            if len(data) < i + n:
                return None
            value = int.from_bytes(data[i : i + n], "little" if item.type.endswith("le") else "big")
            i += n
            if isinstance(item.length_of, str):
                lengths[item.length_of] = value
            elif item.length_of is not None:
                spans.append((k, value))
            elif item.param is not None:
                out[item.param] = value
            continue
        if item.type == "digits":
            assert item.width is not None
            cells = data[i : i + item.width]
            i += item.width
            out[item.param or f"_{k}"] = "".join(str(c) for c in cells if c <= 9)
            continue
        if item.type == "bcd":
            n = item.width or 1
            out[item.param or f"_{k}"] = int(data[i : i + n].hex() or "0")
            i += n
            continue
        n = lengths.get(item.name or "", len(data) - i) if item.name else len(data) - i
        out[item.param or f"_{k}"] = data[i : i + n].decode(encoding, errors="replace")
        i += n
    if i != len(data):
        return None
    starts.append(i)
    for k, value in spans:
        first, last = _span(template, template.data[k].length_of or "")
        if starts[last + 1] - starts[first] != value:
            return None
    return out


def decode_output(profile: FrameProfile, frame: Frame) -> tuple[str, dict[str, Any]] | None:
    """Which output template produced `frame`, and with which parameters (simulators, tests)."""
    for name, template in profile.outputs.items():
        if template.function is not None and template.function != frame.function:
            continue
        params = _parse_items(template, frame.data, profile.encoding)
        if params is not None:
            return name, params
    return None
