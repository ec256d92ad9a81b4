"""What ZKTeco push ("ADMS") clocks send, read leniently: upload bodies and command results.

Firmware differs in where it puts things:
- punches arrive as raw tab-separated lines, or as a form whose `data=` field holds them, and
  that form may carry `table=`, `Stamp=` and `SN=` before `data=` (then `table` is not in the
  query string at all);
- a command result is `ID=<id>&Return=<code>&CMD=<command>`; `INFO` follows it with one
  `name=value` line per device property (`~DeviceName=…`, `MAC=…`, `FWVersion=…`), and file
  results use one `name=value` field per line (`ID=…`, `Return=…`, `CMD=…`, `Content=…`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

# A form body: name=value pairs joined by & with no tab (punch lines always hold tabs).
_FORM = re.compile(r"^[A-Za-z_~][A-Za-z0-9_~]*=[^\t]*$", re.DOTALL)
_MAX_INFO_FIELDS = 64
_MAX_INFO_VALUE = 128


@dataclass(frozen=True, slots=True)
class Upload:
    """A POST to /iclock/cdata: which table, its stamp, and the text of its lines."""

    table: str
    stamp: str | None
    text: str


def read_upload(query: Mapping[str, str], body: bytes) -> Upload:
    """The query string wins where both name a field; the body form fills what it lacks."""
    text = body.decode("utf-8", errors="replace")
    form = _form_fields(text)
    if form is not None and "data" in form:
        text = form["data"]
    else:
        form = {}
    table = query.get("table") or form.get("table", "")
    stamp = query.get("Stamp") or form.get("Stamp")
    return Upload(table=table, stamp=stamp, text=text)


def _form_fields(text: str) -> dict[str, str] | None:
    stripped = text.strip()
    if "\t" in stripped.split("data=", 1)[0] or not _FORM.match(stripped.split("&", 1)[0]):
        return None
    fields = parse_qs(stripped, keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


@dataclass(slots=True)
class CommandReply:
    """One command result and what followed it (INFO's device properties)."""

    fields: dict[str, str]
    info: dict[str, str] = field(default_factory=dict)

    @property
    def command_id(self) -> str:
        return self.fields.get("ID", "")

    @property
    def return_code(self) -> int | None:
        raw = self.fields.get("Return", "")
        return int(raw) if re.fullmatch(r"-?\d{1,9}", raw) else None


def read_command_replies(text: str) -> tuple[list[CommandReply], list[str]]:
    """Replies in the body, and the lines that belong to none (before any `ID=`, or not
    `name=value`)."""
    replies: list[CommandReply] = []
    stray: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        pairs = parse_qs(line, keep_blank_values=True) if "&" in line else {}
        if "ID" in pairs:
            replies.append(CommandReply({k: v[0] for k, v in pairs.items()}))
            continue
        name, sep, value = line.partition("=")
        if name == "ID" and sep:  # a result written one field a line
            replies.append(CommandReply({"ID": value}))
        elif not replies or not sep:
            stray.append(line)
        elif name in ("Return", "CMD", "SN", "FILENAME") and name not in replies[-1].fields:
            replies[-1].fields[name] = value
        elif len(replies[-1].info) < _MAX_INFO_FIELDS:
            replies[-1].info[name.lstrip("~")[:64]] = value[:_MAX_INFO_VALUE]
    return replies, stray
