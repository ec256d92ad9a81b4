"""Tiny templates for profile requests and writes: ``"{window}"``, ``"{event.ticket|digits}"``.

A string that is exactly one ``{...}`` keeps the type of what it names (so ``"{window}"``
becomes the integer 5); text around placeholders makes a string. A path is dotted names,
each optionally indexed by another name or a number: ``services[index]``. Filters after
``|``: ``digits`` (keep the digits, as an int: ``A012`` -> 12), ``str``, ``int``,
``default:X`` (when the value is missing or null). A missing value passes through the
filters before a ``default:`` untouched, so ``{state.current.ticket|digits|default:0}`` is 0
when no ticket is in hand; only a value still missing after every filter is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_SEGMENT = re.compile(r"^([A-Za-z_][\w-]*)(?:\[([\w-]+)\])?$")


class TemplateError(ValueError):
    """A placeholder names something that does not exist and has no default."""


_MISSING = object()


def _lookup(path: str, ctx: Mapping[str, Any]) -> Any:
    current: Any = ctx
    for part in path.split("."):
        m = _SEGMENT.match(part.strip())
        if m is None:
            raise TemplateError(f"bad path segment {part!r}")
        name, index = m.groups()
        if not isinstance(current, Mapping) or name not in current:
            return _MISSING
        current = current[name]
        if index is not None:
            key: Any = int(index) if index.isdigit() else ctx.get(index, _MISSING)
            if isinstance(current, list | tuple) and isinstance(key, int):
                current = current[key] if 0 <= key < len(current) else _MISSING
            elif isinstance(current, Mapping):
                current = current.get(key, current.get(str(key), _MISSING))
            else:
                return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def _apply(value: Any, filt: str, expr: str) -> Any:
    name, _, arg = filt.strip().partition(":")
    if name == "default":
        return arg if value is _MISSING or value is None else value
    if value is _MISSING or value is None:
        return value  # a later default: may cover it; _evaluate refuses what stays missing
    if name == "digits":
        digits = "".join(c for c in str(value) if c.isdigit())
        return int(digits) if digits else 0
    if name == "str":
        return str(value)
    if name == "int":
        return int(value)
    raise TemplateError(f"unknown filter {name!r}")


def _evaluate(expr: str, ctx: Mapping[str, Any]) -> Any:
    path, *filters = expr.split("|")
    value = _lookup(path.strip(), ctx)
    for filt in filters:
        value = _apply(value, filt, expr)
    if value is _MISSING:
        raise TemplateError(f"{expr!r}: nothing there")
    return value


def render(template: Any, ctx: Mapping[str, Any]) -> Any:
    """Fill every placeholder in ``template`` (str, list or dict, recursively) from ``ctx``."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return _evaluate(whole.group(1), ctx)
        return _PLACEHOLDER.sub(lambda m: str(_evaluate(m.group(1), ctx)), template)
    if isinstance(template, Mapping):
        return {k: render(v, ctx) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, ctx) for v in template]
    return template
