"""Cross checks of the `web:` section against the rest of the hall file (`hallctl check`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hallctl.config.problem import Problem

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig

RESERVED_DISPLAY_IDS = frozenset({"window"})  # /display/window/<n> is the window screen


def check(cfg: HallConfig) -> list[Problem]:
    out: list[Problem] = []
    numbers = {w.number for w in cfg.windows}
    codes = {s.code for s in cfg.services}
    kiosks = {k.id for k in cfg.kiosks.kiosks} if cfg.kiosks is not None else set()
    escpos = {d.id for d in cfg.serial.devices if d.kind == "escpos"} if cfg.serial else set()
    for i, s in enumerate(cfg.web.screens if cfg.web is not None else []):
        at = ("web", "screens", i)
        if s.page == "display" and s.id in RESERVED_DISPLAY_IDS:
            out.append(Problem((*at, "id"), f"a display may not be called {s.id!r}"))
        if s.window is not None and s.window not in numbers:
            out.append(Problem((*at, "window"), f"unknown window {s.window}"))
        for j, n in enumerate(s.windows):
            if n not in numbers:
                out.append(Problem((*at, "windows", j), f"unknown window {n}"))
        for j, code in enumerate(s.services):
            if code not in codes:
                out.append(Problem((*at, "services", j), f"unknown service {code!r}"))
        if s.page == "kiosk" and s.kiosk_id not in kiosks:
            out.append(Problem((*at, "id"), f"kiosk {s.kiosk_id!r} is not under kiosks:"))
    if cfg.kiosks is not None:
        for i, k in enumerate(cfg.kiosks.kiosks):
            if k.printer is not None and k.printer not in escpos:
                out.append(Problem(("kiosks", "kiosks", i, "printer"),
                                   f"printer {k.printer!r} is not an escpos device under serial:"))
    return out
