"""Helping a person fix a hall file in one pass.

- `where`: a field path as a person finds it in the file: list entries by their name
  (``windows[number=2].services[#2]``), not by a 0-based index.
- `did_you_mean`: the nearest valid key for a mistyped one.
- `partial_config`: the entries that do pass the schema, so the cross checks (unknown
  services, duplicates, ports) can run in the same pass as the schema errors.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from hallctl.config.models import HallConfig
from hallctl.config.problem import Problem

# how an entry of a list is named, in the order tried
NAME_KEYS = ("code", "number", "id", "name")
# top-level lists whose entries are checked one by one (the others are checked whole)
ENTRY_LISTS = {"services": "code", "windows": "number", "staff": "id"}


def where(data: Any, path: Sequence[str | int]) -> str:
    out = ""
    node = data
    for key in path:
        if isinstance(key, int) and isinstance(node, list):
            item = node[key] if 0 <= key < len(node) else None
            fields: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
            name = next((k for k in NAME_KEYS if fields.get(k) is not None), None)
            out += f"[{name}={fields[name]}]" if name else f"[#{key + 1}]"
            node = item
        else:
            out += f".{key}" if out else str(key)
            node = node.get(key) if isinstance(node, Mapping) else None
    return out


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's annotation may hold (through lists, unions, Optional)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin in (list, tuple, set, Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    if origin is dict:
        return _models(get_args(annotation)[1])
    return []


def _keys_at(loc: Sequence[str | int]) -> set[str]:
    """Every key valid where `loc` points, from the models of the hall file."""
    models: list[type[BaseModel]] = [HallConfig]
    for key in loc:
        if isinstance(key, int):
            continue
        fields = [m.model_fields[key] for m in models if key in m.model_fields]
        if fields:
            models = [m for f in fields for m in _models(f.annotation)]
        # else: a union tag pydantic put in the location; the models stay the same
    return {name for m in models for name in m.model_fields}


def did_you_mean(loc: Sequence[str | int]) -> str | None:
    """For an unknown key at `loc`, the nearest valid key, if one is near enough."""
    if not loc or not isinstance(loc[-1], str):
        return None
    close = difflib.get_close_matches(loc[-1], sorted(_keys_at(loc[:-1])), n=1, cutoff=0.6)
    return close[0] if close else None


class Partial:
    """What passed the schema, and how to name what was left out."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.dropped: set[str] = set()  # "services:SB", "windows:3", "mqtt"
        self.kept: dict[str, list[int]] = {}  # list section -> original index of each kept entry

    def original(self, path: Sequence[str | int]) -> tuple[str | int, ...]:
        """A path into the partial config, as a path into the file."""
        head, *rest = path
        if isinstance(head, str) and head in self.kept and rest and isinstance(rest[0], int):
            return (head, self.kept[head][rest[0]], *rest[1:])
        return tuple(path)

    def misleading(self, problem: Problem) -> bool:
        """A cross-check finding caused by an entry left out for its schema error."""
        for entry in self.dropped:
            section, _, key = entry.partition(":")
            text = problem.message
            if section == "services" and (f"service {key!r}" in text or "by no window" in text):
                return True
            if section == "windows" and (
                re.search(rf"\bwindow {re.escape(key)}\b", text) or "by no window" in text
            ):
                return True
            if section == "staff" and f"staff {key!r}" in text:
                return True
        return False


def partial_config(data: Mapping[str, Any]) -> tuple[HallConfig | None, Partial]:
    """The hall file without what fails the schema, for cross checks; and what was left out
    (its problems are already reported; checks about it would mislead).

    Entries of services, windows and staff are kept one by one; any other section with an
    error is left out whole. Without a valid `hall` there is nothing to check against.
    """
    part = Partial()
    values, dropped = part.values, part.dropped
    for name, field in HallConfig.model_fields.items():
        if name not in data:
            continue
        raw = data[name]
        if name in ENTRY_LISTS and isinstance(raw, list):
            (item_type,) = get_args(field.annotation)
            adapter: TypeAdapter[Any] = TypeAdapter(item_type)
            kept = []
            part.kept[name] = []
            for i, item in enumerate(raw):
                try:
                    kept.append(adapter.validate_python(item))
                    part.kept[name].append(i)
                except ValidationError:
                    key = item.get(ENTRY_LISTS[name]) if isinstance(item, Mapping) else None
                    dropped.add(f"{name}:{key}")
            values[name] = kept
            continue
        try:
            values[name] = TypeAdapter[Any](field.annotation or Any).validate_python(raw)
        except ValidationError:
            if field.is_required():
                return None, part
            dropped.add(name)
    if "hall" not in values:
        return None, part
    return HallConfig.model_construct(**values), part
