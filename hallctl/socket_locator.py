"""Where a hall's control socket is, read from its hall file without loading the whole file.

The CLI's client commands (`hallctl status`, `hallctl ticket`, ...) need only the socket path:
`control.socket`, or `<data_dir>/control.sock`. Loading the hall file for that (ruamel, the
pydantic models, every section's checks) took about 300 ms of a `hallctl status` whose socket
round trip takes under a millisecond. This reads the two keys from the block-style YAML the
hall files use; on anything it is not sure of (flow style, anchors, tags, quoting with escapes,
several documents) it answers None and the caller loads the file properly. A test checks its
answers against the full loader's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["socket_from_hall_file"]

_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*))?$")
_CHILD_KEY = re.compile(r"^([ \t]+)([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*))?$")
_PLAIN = re.compile(r"^[^\s#'\"{}\[\]&*!|>%@`,?:-][^#]*?$|^[./~\w][^#]*?$")


class _Unsure(Exception):
    pass


def socket_from_hall_file(
    path: Path, env: Mapping[str, str] | None = None
) -> Path | None:
    """The control socket the daemon for this hall file listens on, or None when unsure."""
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
        data_dir, socket = _scan(text)
    except (OSError, UnicodeDecodeError, _Unsure):
        return None
    if socket is not None:
        return Path(socket)
    if env.get("HALLCTL_DATA_DIR"):
        return Path(env["HALLCTL_DATA_DIR"]) / "control.sock"
    base = Path(data_dir if data_dir is not None else "var")
    if not base.is_absolute():
        base = (path.parent / base).resolve()
    return base / "control.sock"


def _scan(text: str) -> tuple[str | None, str | None]:
    data_dir: str | None = None
    socket: str | None = None
    section: str | None = None
    child_indent: str | None = None
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines()):
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(("---", "...", "%")) and (number > 0 or line != "---"):
            raise _Unsure  # several documents, directives
        if line == "---":
            continue
        _check_no_alias(line)
        top = _TOP_KEY.match(line)
        if top:
            key, value = top.group(1), top.group(2)
            if key in seen:
                raise _Unsure
            seen.add(key)
            section, child_indent = key, None
            if key == "data_dir":
                data_dir = _value(value)
            elif key == "control" and _value_or_none(value) is not None:
                raise _Unsure  # flow style: control: {socket: ...}
            continue
        if not line[0].isspace():
            raise _Unsure  # a top-level line that is no `key: value`
        if section != "control":
            continue
        child = _CHILD_KEY.match(line)
        if child is None:
            raise _Unsure
        indent, key, value = child.groups()
        if child_indent is None:
            child_indent = indent
        if indent != child_indent:
            raise _Unsure  # deeper nesting under control: not the shape we know
        if key == "socket":
            socket = _value_or_none(value)
    return data_dir, socket


def _check_no_alias(line: str) -> None:
    code = line.split(" #", 1)[0]
    if re.search(r"(^|[\s:\[{,])[&*][\w-]", code):
        raise _Unsure


def _value_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or value.startswith("#"):
        return None
    text = _value(value)
    return None if text in ("null", "~", "Null", "NULL") else text


def _value(value: str | None) -> str:
    if value is None:
        raise _Unsure  # a nested block where a scalar belongs
    value = value.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end < 0 or "\\" in value[:end] or value[1:end].count(quote):
            raise _Unsure
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise _Unsure
        if quote == "'" and value[end + 1 : end + 2] == "'":
            raise _Unsure  # '' escapes
        return value[1:end]
    value = value.split(" #", 1)[0].rstrip()
    if not value or not _PLAIN.match(value):
        raise _Unsure
    return value
