"""JSON from outside the daemon: one decoder for every entry point.

MQTT requests, kiosk requests, face-terminal messages, the control socket and the HTTP
handlers of push devices all decode their input here, so they refuse the same things the same
way: bytes that are not UTF-8, text that is not JSON, the non-JSON constants ``NaN`` and
``Infinity`` that :func:`json.loads` would accept, and nesting deeper than :data:`MAX_DEPTH`.

Depth matters because the C decoder recurses: about a thousand ``[`` in a 1 KB message raise
``RecursionError``, which is no ``ValueError`` and so passed every ``except JSONDecodeError``
and ended MQTT links and control connections. No request or device message of ours nests
beyond a handful of levels.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["MAX_DEPTH", "JsonInputError", "loads", "loads_object"]

MAX_DEPTH: Final = 32


class JsonInputError(ValueError):
    """The input is not acceptable JSON; the message says why (never echoes the input)."""


def _reject_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not JSON")


# Built once: json.loads(..., parse_constant=...) would build a decoder per call.
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether decoded JSON nests deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode untrusted JSON; raises :class:`JsonInputError` for anything not acceptable."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"not UTF-8 (byte {exc.start})") from None
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise JsonInputError(f"JSON nested too deeply (limit {max_depth} levels)") from None
    # Cheap bound first: fewer brackets than the limit cannot nest deeper than it.
    if (text.count("[") + text.count("{") > max_depth and isinstance(value, dict | list)
            and _deeper_than(value, max_depth)):
        raise JsonInputError(f"JSON nested too deeply (limit {max_depth} levels)")
    return value


def loads_object(data: bytes | str, *, empty: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decode a JSON object; blank input gives ``empty`` when given (requests without fields)."""
    if empty is not None and not data.strip():
        return dict(empty)
    value = loads(data)
    if not isinstance(value, dict):
        raise JsonInputError(f"a JSON object is expected, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
