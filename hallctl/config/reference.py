"""docs/configuration.md, generated from the models: the schema that validates also documents."""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hallctl.config.models import HallConfig

INTRO = """# Hall file reference

Generated from the configuration models by `hallctl schemas`; do not edit by hand.
One YAML file per hall; `hallctl check -c FILE` validates it and names the field and line of
every problem. Unknown keys are errors. Environment overrides for deployment:
`HALLCTL_MQTT_URL` (mqtt.url) and `HALLCTL_DATA_DIR` (data_dir). A relative `data_dir` is
resolved against the hall file's folder. Under systemd, write `data_dir: /var/lib/hallctl`
(the unit's state directory) in the hall file itself: `hallctl status -c FILE` finds the
daemon's control socket through it. See `config/example.yaml` for a whole hall.
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(_yaml(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple, set):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map {_type_name(args[0])} → {_type_name(args[1])}" if args else "map"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return ""
    else:
        value = field.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "(see section)"
    text = _yaml(value)
    return f"`{text}`" if len(text) < 40 else "(see example)"


def _yaml(value: Any) -> str:
    """A value as it is written in the hall file (YAML), not as Python shows it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, enum.Enum):
        return _yaml(value.value)
    return str(value)  # paths, times, ...


def _cell(text: str) -> str:
    """A table cell: a `|` would end the cell, so every one is escaped (in code spans too)."""
    return text.replace("\\|", "|").replace("|", "\\|")


def _models(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in typing.get_args(annotation):
        found.extend(_models(arg))
    return found


def reference(root: type[BaseModel] = HallConfig) -> str:
    out = [INTRO]
    seen: set[type[BaseModel]] = set()
    queue: list[tuple[str, type[BaseModel]]] = [("(top level)", root)]
    while queue:
        path, model = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        out.append(f"\n## `{path}` — {model.__name__}\n")
        doc = (model.__doc__ or "").strip().splitlines()
        if doc:
            out.append(doc[0] + "\n")
        out.append("| key | type | default | meaning |\n|---|---|---|---|")
        for name, field in model.model_fields.items():
            cells = (f"`{name}`", _type_name(field.annotation), _default(field),
                     field.description or "")
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            for sub in _models(field.annotation):
                child = name if path == "(top level)" else f"{path}.{name}"
                queue.append((child, sub))
    return "\n".join(out) + "\n"
