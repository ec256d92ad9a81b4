"""YAML read with line numbers, so every file error can name its line (ruamel round-trip)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq


def line_of(doc: Any, path: Sequence[int | str]) -> int | None:
    """1-based line of the deepest node on ``path`` that the YAML has.

    Keys the YAML lacks are skipped rather than ending the walk: pydantic puts union and
    discriminator tags (``"const"``, model names) into error locations between real keys.
    """
    node = doc
    line: int | None = (doc.lc.line + 1) if isinstance(doc, CommentedMap | CommentedSeq) else None
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
    return line


def located_errors(doc: Any, exc: ValidationError) -> list[tuple[str, int | None, str]]:
    """(dotted field path, line, message) for each error of a model validated from ``doc``."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        out.append((".".join(str(p) for p in loc) or "(top)", line_of(doc, loc), str(err["msg"])))
    return out
