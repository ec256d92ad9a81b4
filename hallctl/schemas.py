"""JSON Schemas of what the back end receives and sends, generated from the models."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from hallctl.hall.commands import AnyCommand
from hallctl.hall.events import EVENT_MODELS, Envelope
from hallctl.kiosk.contract import kiosk_schemas


def all_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"envelope.json": Envelope.model_json_schema()}
    for type_, model in EVENT_MODELS.items():
        schema = model.model_json_schema()
        schema["title"] = type_
        out[f"events/{type_}.json"] = schema
    out["request.json"] = TypeAdapter(AnyCommand).json_schema()
    out["response.json"] = {
        "title": "response",
        "oneOf": [
            {
                "type": "object",
                "properties": {"ok": {"const": True}, "result": {"type": "object"}},
                "required": ["ok", "result"],
            },
            {
                "type": "object",
                "properties": {
                    "ok": {"const": False},
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "message_zh": {"type": "string"},
                        },
                        "required": ["code", "message", "message_zh"],
                    },
                },
                "required": ["ok", "error"],
            },
        ],
    }
    out.update(kiosk_schemas())
    return out


def generated_files(out: Path) -> dict[Path, str]:
    from hallctl.config.reference import reference

    files = {
        out / name: json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        for name, schema in all_schemas().items()
    }
    files[out.parent / "configuration.md"] = reference()
    return files


def write_schemas(out: Path, check: bool = False) -> int:
    stale: list[str] = []
    for path, text in generated_files(out).items():
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print("stale schemas (run `hallctl schemas`):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    if not check:
        print(f"wrote {len(all_schemas())} schemas to {out} and {out.parent / 'configuration.md'}")
    return 0
