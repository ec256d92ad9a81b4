"""Display texts from retained state and the hall's templates (pure functions).

Templates are ``str.format`` strings; a field the state does not have renders empty rather
than failing, so a template typo shows up as a blank on a strip, never as a crashed driver
(``check`` reports unknown fields at configuration time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hallctl.drivers.serial_config import Templates


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, values: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_Blank(values))
    except (ValueError, IndexError, AttributeError):
        return template  # malformed braces: show it as written


def window_text(view: Mapping[str, Any], t: Templates) -> str:
    """What a window's strip shows now: closed, paused, the call, or who serves here."""
    if view["status"] == "closed":
        return t.closed
    if view["status"] == "paused":
        return t.paused
    values: dict[str, Any] = {"window": view["window"], "window_name": view["name"]}
    current = view.get("current")
    if current and current["state"] in ("called", "serving"):
        values.update(ticket=current["ticket"], service=current["service"])
        return fill(t.called if current["state"] == "called" else t.serving, values)
    staff = view.get("staff")
    if staff:
        values.update(staff_name=staff["name"], staff_no=staff["staff_no"])
        return fill(t.idle, values)
    return fill(t.idle_no_staff, values)


def main_text(calls: Mapping[str, Any], t: Templates) -> str:
    """The main hall display: the last calls, newest first."""
    shown = list(calls.get("calls", []))[: t.main_calls]
    if not shown:
        return t.main_empty
    return t.main_separator.join(fill(t.main_call, c) for c in shown)


def ticket_digits(ticket: str | None, width: int = 3) -> str | None:
    """The digits a keypad can show: "A012" → "012" (the last `width` digits)."""
    if not ticket:
        return None
    digits = "".join(c for c in ticket if c.isdigit())
    return digits[-width:] or None
