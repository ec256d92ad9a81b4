"""An event's data as JSON text, the journal's text byte for byte, made faster for flat dicts.

The engine encodes every event it commits (``journal.encode_json``: compact, non-ASCII kept,
NaN and Infinity refused). The core's events are flat dicts with a handful of key sets, so for
each key set met this makes, once, a function that writes the text with one f-string: the keys
are written in advance, and each value is written by its own exact type (a string by the C
escaper the stdlib's encoder uses, an int or a float by their ``repr``, as the stdlib's does).
A value of any other type (a nested dict or list, a NaN, a subclass) sends the whole dict to
``encode_json``, which writes it or raises as before. tests/test_event_json.py holds the two
to the same text and the same errors.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, Final

from hallctl.journal import encode_json

__all__ = ["encode_event"]

_Encoder = Callable[[dict[str, Any]], str]
# a bound: the core makes a few dozen kinds; any beyond are encoded as before
_MAX_KINDS: Final = 512
# per key set, the encoder for the value types its first dict had
_encoders: dict[tuple[str, ...], _Encoder] = {}
# how each type's value is written, as the stdlib's encoder writes it; a float only if finite
_WRITE: Final[dict[type, str]] = {
    str: "{{esc({v})}}",
    # an exact int or float written by the f-string itself: the same text as their repr,
    # without a call (a call of int.__repr__ cost three times the formatting)
    int: "{{{v}}}",
    float: "{{{v}!r}}",
    type(None): "null",  # text, not an expression
    bool: "{{(true if {v} else false)}}",
}


def _make(data: dict[str, Any]) -> _Encoder:
    """An encoder for dicts with these keys, in this order, and values of these types."""
    names, checks, parts = [], [], []
    for i, (key, value) in enumerate(data.items()):
        kind = value.__class__
        names.append(f"v{i}")
        checks.append(f"v{i}.__class__ is not {kind.__name__}")
        if kind is float:
            checks.append(f"v{i} - v{i} != 0.0")  # NaN, Infinity: the stdlib's error
        # the key's JSON text, braces doubled for the f-string
        text = encode_basestring(key).replace("{", "{{").replace("}", "}}")
        parts.append(text + ":" + _WRITE[kind].format(v=f"v{i}"))
    body = "{{" + ",".join(parts) + "}}"
    # The caller found this encoder by the dict's keys in their order, so its values come
    # in that order: one unpacking where a lookup a key cost several times more.
    lines = ["def encode(d):"]
    if names:  # an empty dict has nothing to read or check
        lines.append(f"    {', '.join(names)}, = d.values()")
        lines.append(f"    if {' or '.join(checks)}:\n        return slow(d)")
    lines.append("    return f" + repr(body))
    scope: dict[str, Any] = {
        "esc": encode_basestring,
        "slow": encode_json,
        "true": "true",
        "false": "false",
        "str": str,
        "int": int,
        "float": float,
        "bool": bool,
        "NoneType": type(None),
    }
    exec("\n".join(lines), scope)  # our own text: the keys enter as repr() only
    encoder: _Encoder = scope["encode"]
    return encoder


def encode_event(data: dict[str, Any]) -> str:
    """``encode_json(data)``, the same text or the same error."""
    keys = tuple(data)
    encode = _encoders.get(keys)
    if encode is None:
        if len(_encoders) >= _MAX_KINDS or any(
            k.__class__ is not str for k in keys
        ) or any(v.__class__ not in _WRITE for v in data.values()):
            return encode_json(data)
        encode = _encoders[keys] = _make(data)
    return encode(data)
