"""The ``serial:`` section of the hall file: lines, framed devices and ticket printers.

```yaml
serial:
  lines:
    - {id: bus1, port: /dev/serial/by-id/usb-FTDI-if00, baudrate: 9600}
    - {id: led, port: /dev/ttyUSB1}
  devices:
    - {id: kp-1, profile: ff68-keypad, line: bus1, address: 1, window: 1, transfer_to: SB}
    - {id: ev-1, profile: ff68-evaluator, line: bus1, address: 101, window: 1}
    - {id: strip-1, profile: at-strip, line: led, address: 1, window: 1}
    - {id: main, profile: at-strip, line: led, address: 90, role: main_display}
    - {id: panel, profile: ff68-ticket-panel, line: bus1, address: 200, role: dispenser,
       buttons: {0: BDC, 1: SB}, printer: prn-1}
    - {id: prn-1, kind: escpos, port: /dev/ttyUSB2, default: true,
       layout: {paper_mm: 80, footer: 过号请重新取号}, qr_url: "https://hall.example/t/{ticket}"}
  templates: {called: "请{ticket}号到{window}号窗口"}
```

Which driver a framed device gets is its ``role``; without one it follows from the binding
and the profile (see ``device_role``). Cross references are checked by ``check``.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hallctl.config.problem import Problem
from hallctl.transports.serial_line_config import SerialLineConfig

if TYPE_CHECKING:  # the frame codec loads only for a hall with serial devices
    from hallctl.codec.profile import FrameProfile
    from hallctl.config.models import HallConfig

Role = Literal["keypad", "evaluator", "window_display", "main_display", "dispenser", "printer"]
WINDOW_ROLES: frozenset[str] = frozenset({"keypad", "evaluator", "window_display"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Templates(_Strict):
    """Display texts; fields in braces come from the window's retained state."""

    called: str = Field("请{ticket}号到{window}号窗口", description="a ticket is called")
    serving: str = Field("请{ticket}号到{window}号窗口", description="the citizen is served")
    idle: str = Field("{window_name} {staff_name} 工号{staff_no}", description="挂牌上岗")
    idle_no_staff: str = Field("{window_name}", description="open, nobody signed in")
    paused: str = "暂停服务"
    closed: str = "窗口关闭"
    main_call: str = Field("{ticket}→{window_name}", description="one call on the main display")
    main_separator: str = "  "
    main_calls: int = Field(3, ge=1, le=20, description="calls shown on the main display")
    main_empty: str = "欢迎光临"


class PrinterLayout(_Strict):
    """How a printer's tickets look (see hallctl.codec.escpos.TicketLayout)."""

    paper_mm: Literal[58, 80] = 80
    hall_name: str | None = Field(None, description="default: the hall's name")
    number_size: int = Field(4, ge=1, le=8)
    qr_module: int = Field(6, ge=1, le=16)
    qr_error: Literal["L", "M", "Q", "H"] = "M"
    footer: str = ""
    feed_lines: int = Field(3, ge=0, le=255)


class SerialDevice(_Strict):
    """One device instance: what it is (profile or escpos), where it is, what it serves."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    kind: Literal["frame", "escpos"] = "frame"
    profile: str | None = Field(None, description="devices/<name>.yaml, for kind frame")
    role: Role | None = Field(None, description="default: from the binding and the profile")
    line: str | None = None
    port: str | None = Field(None, description="escpos only: its own port, e.g. /dev/ttyUSB2")
    baudrate: int = Field(9600, gt=0, description="with port")
    address: int | None = Field(None, ge=0)
    window: int | None = Field(None, ge=1)
    enabled: bool = True
    # keypad
    transfer_to: str | None = Field(None, description="service the transfer key sends to")
    transfer_front: bool = False
    repeat_window_ms: float = Field(
        800, ge=0, description="the same frame again within this is a repeat, not a new press"
    )
    # dispenser (button panel)
    buttons: dict[int, str] = Field(default_factory=dict, description="button value → service")
    printer: str | None = Field(None, description="the printer device that prints its tickets")
    # printer
    layout: PrinterLayout = PrinterLayout()
    qr_url: str | None = Field(None, description="QR payload template, e.g. https://…/t/{ticket}")
    default: bool = Field(False, description="prints tickets that name no source")
    status_poll_s: float = Field(5.0, gt=0)
    status_timeout_ms: float = Field(300, gt=0)

    @model_validator(mode="after")
    def _shape(self) -> SerialDevice:
        if self.kind == "escpos":
            if self.profile is not None:
                raise ValueError("an escpos printer has no profile")
            if (self.line is None) == (self.port is None):
                raise ValueError("an escpos printer needs exactly one of line or port")
            if self.role not in (None, "printer"):
                raise ValueError("an escpos device is a printer")
        else:
            if self.profile is None:
                raise ValueError("a framed device needs a profile")
            if self.line is None or self.port is not None:
                raise ValueError("a framed device sits on a line (give line, not port)")
            if self.address is None:
                raise ValueError("a framed device needs an address")
            if self.role == "printer":
                raise ValueError("a printer is kind: escpos")
        return self


class SerialSection(_Strict):
    lines: list[SerialLineConfig] = Field(default_factory=list)
    devices: list[SerialDevice] = Field(default_factory=list)
    templates: Templates = Templates()


def device_role(device: SerialDevice, profile: FrameProfile | None) -> Role | None:
    """The explicit role, else: escpos → printer; bound to a window → evaluator when the
    profile's inputs evaluate, window_display when it renders text, else keypad."""
    if device.role is not None:
        return device.role
    if device.kind == "escpos":
        return "printer"
    if device.window is None or profile is None:
        return None
    if any(rule.action == "evaluate" for rule in profile.inputs):
        return "evaluator"
    if "show_text" in profile.outputs:
        return "window_display"
    return "keypad" if profile.inputs else None


_NEEDS_OUTPUT: dict[str, str] = {
    "window_display": "show_text",
    "main_display": "show_text",
    "evaluator": "start_evaluation",
}


WINDOW_FIELDS = frozenset({"ticket", "window", "window_name", "staff_name", "staff_no", "service"})
CALL_FIELDS = frozenset({"ticket", "window", "window_name", "ts"})
QR_FIELDS = frozenset({"ticket", "service", "hall", "day"})


def unknown_fields(template: str, known: frozenset[str]) -> list[str]:
    """Fields of `template` outside `known` (they would render empty)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"malformed template: {exc}"]
    return sorted({name for _, name, _, _ in parsed if name is not None and name not in known})


def _template_problems(section: SerialSection) -> list[Problem]:
    out = []
    t = section.templates
    for name in ("called", "serving", "idle", "idle_no_staff", "paused", "closed", "main_call"):
        known = CALL_FIELDS if name == "main_call" else WINDOW_FIELDS
        bad = unknown_fields(getattr(t, name), known)
        if bad:
            out.append(Problem(("serial", "templates", name), f"unknown field(s) {bad}"))
    for i, d in enumerate(section.devices):
        bad = unknown_fields(d.qr_url or "", QR_FIELDS)
        if bad:
            out.append(Problem(("serial", "devices", i, "qr_url"), f"unknown field(s) {bad}"))
    return out


def _profile_fits(profile: FrameProfile, role: str) -> list[str]:
    out = []
    needed = _NEEDS_OUTPUT.get(role)
    if needed is not None and needed not in profile.outputs:
        out.append(f"profile {profile.name!r} has no output {needed!r} (needed by a {role})")
    if role in ("keypad", "evaluator", "dispenser") and not profile.inputs:
        out.append(f"profile {profile.name!r} has no inputs for a {role}")
    return out


def _framing(profile: FrameProfile) -> Any:
    return (profile.frame, profile.escape, profile.max_frame)


def check(
    section: SerialSection,
    hall: HallConfig,
    profile_dirs: Sequence[Path] | None = None,
) -> list[Problem]:
    """References a schema cannot express; paths start at the hall file's ``serial``."""
    from hallctl.codec.loader import ProfileError, ProfileLoader

    problems: list[Problem] = _template_problems(section)

    def add(message: str, *path: str | int) -> None:
        problems.append(Problem(("serial", *path), message))

    loader = ProfileLoader(profile_dirs)
    lines = {line.id for line in section.lines}
    windows = {w.number for w in hall.windows}
    services = {s.code for s in hall.services}
    devices = {d.id: d for d in section.devices}
    seen_lines: set[str] = set()
    for i, line in enumerate(section.lines):
        if line.id in seen_lines:
            add(f"duplicate line id {line.id!r}", "lines", i, "id")
        seen_lines.add(line.id)
    # one owner per port: the second owner is the mistake, so the problem points at it
    owners: dict[str, str] = {}
    entries: list[tuple[str, int, str, str | None]]
    entries = [("line", i, e.id, e.port) for i, e in enumerate(section.lines)]
    entries += [("device", i, e.id, e.port) for i, e in enumerate(section.devices)]
    for kind, i, entry_id, port in entries:
        if not port:
            continue
        if port in owners:
            add(f"port {port!r} is already opened by {owners[port]}", f"{kind}s", i, "port")
        else:
            owners[port] = f"{kind} {entry_id!r}"
    seen_ids: set[str] = set()
    seen_addr: dict[tuple[str, int], str] = {}
    framing: dict[str, tuple[str, Any]] = {}
    escpos_lines: set[str] = set()
    defaults = [d.id for d in section.devices if d.kind == "escpos" and d.default and d.enabled]
    if len(defaults) > 1:
        add(f"more than one default printer: {defaults}", "devices")
    for i, d in enumerate(section.devices):
        if d.id in seen_ids:
            add(f"duplicate device id {d.id!r}", "devices", i, "id")
        seen_ids.add(d.id)
        if d.line is not None and d.line not in lines:
            add(f"unknown line {d.line!r}", "devices", i, "line")
        profile: FrameProfile | None = None
        if d.profile is not None:
            try:
                profile = loader.load(d.profile)
            except ProfileError as exc:
                add(str(exc), "devices", i, "profile")
        role = device_role(d, profile)
        if role is None and (profile is not None or d.profile is None):
            add("cannot tell what this device is: give role (or window)", "devices", i)
        if role in WINDOW_ROLES and d.window is None:
            add(f"a {role} needs a window", "devices", i, "window")
        if d.window is not None and d.window not in windows:
            add(f"unknown window {d.window}", "devices", i, "window")
        if profile is not None and role is not None:
            for message in _profile_fits(profile, role):
                add(message, "devices", i, "profile")
        if d.transfer_to is not None and d.transfer_to not in services:
            add(f"unknown service {d.transfer_to!r}", "devices", i, "transfer_to")
        if role == "dispenser":
            if not d.buttons:
                add("a dispenser needs buttons", "devices", i, "buttons")
            if d.printer is None:
                add("a dispenser needs a printer", "devices", i, "printer")
        for button, code in d.buttons.items():
            if code not in services:
                add(f"unknown service {code!r}", "devices", i, "buttons", button)
        if d.printer is not None:
            target = devices.get(d.printer)
            if target is None or target.kind != "escpos":
                add(f"{d.printer!r} is not an escpos printer", "devices", i, "printer")
        if d.line is None:
            continue
        if d.kind == "escpos":
            escpos_lines.add(d.line)
            continue
        if d.address is not None:
            other = seen_addr.setdefault((d.line, d.address), d.id)
            if other != d.id:
                add(f"address {d.address} on {d.line!r} is also {other!r}", "devices", i, "address")
        if profile is not None:
            first = framing.setdefault(d.line, (profile.name, _framing(profile)))
            if first[1] != _framing(profile):
                add(
                    f"profile {profile.name!r} frames differently from {first[0]!r} on the "
                    f"same line (one line, one framing)",
                    "devices", i, "profile",
                )
    for i, line in enumerate(section.lines):
        if line.id in escpos_lines and line.id in framing:
            add("a printer cannot share a line with framed devices", "lines", i)
    return problems
