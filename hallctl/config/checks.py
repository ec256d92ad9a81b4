"""Cross checks a schema cannot express: references between sections, duplicates, hours."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from hallctl.config.models import HallConfig
from hallctl.config.problem import Path, Problem

__all__ = ["Path", "Problem", "cross_check"]


def cross_check(cfg: HallConfig) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append

    def dupes(items: Iterable[tuple[Path, Hashable]], what: str) -> None:
        seen: set[Hashable] = set()
        for path, value in items:
            if value in seen:
                add(Problem(path, f"duplicate {what} {value!r}"))
            seen.add(value)

    dupes(((("services", i, "code"), s.code) for i, s in enumerate(cfg.services)), "service code")
    dupes(
        ((("services", i, "prefix"), s.prefix) for i, s in enumerate(cfg.services)), "ticket prefix"
    )
    dupes(
        ((("windows", i, "number"), w.number) for i, w in enumerate(cfg.windows)), "window number"
    )
    dupes(((("staff", i, "id"), s.id) for i, s in enumerate(cfg.staff)), "staff id")
    dupes(
        (
            (("staff", i, "external_ids", j), x)
            for i, s in enumerate(cfg.staff)
            for j, x in enumerate(s.external_ids)
        ),
        "staff external id",
    )
    known = {s.code for s in cfg.services}
    staff_ids = {s.id for s in cfg.staff}
    numbers = {w.number for w in cfg.windows}
    for i, w in enumerate(cfg.windows):
        dupes(
            ((("windows", i, "services", j), ws.service) for j, ws in enumerate(w.services)),
            f"service at window {w.number}",
        )
        for j, ws in enumerate(w.services):
            if ws.service not in known:
                add(Problem(("windows", i, "services", j), f"unknown service {ws.service!r}"))
        if w.default_staff is not None and w.default_staff not in staff_ids:
            add(Problem(("windows", i, "default_staff"), f"unknown staff {w.default_staff!r}"))
    for i, person in enumerate(cfg.staff):
        for j, n in enumerate(person.windows):
            if n not in numbers:
                add(Problem(("staff", i, "windows", j), f"unknown window {n}"))
    served = {ws.service for w in cfg.windows for ws in w.services}
    for i, svc in enumerate(cfg.services):
        if svc.code not in served:
            add(Problem(("services", i, "code"), f"service {svc.code!r} is served by no window"))
        if cfg.hall.hours:
            for j, r in enumerate(svc.hours):
                if not any(h.start <= r.start and r.end <= h.end for h in cfg.hall.hours):
                    add(
                        Problem(
                            ("services", i, "hours", j),
                            f"issuing hours {r} lie outside the hall's opening hours",
                        )
                    )
    if cfg.serial is not None and cfg.modbus is not None:
        # RS-485 is half-duplex: one owner per port; Modbus RTU lines have their own owner
        framed = {str(line.port) for line in cfg.serial.lines}
        for i, mline in enumerate(cfg.modbus.lines):
            if str(mline.port) in framed:
                add(
                    Problem(
                        ("modbus", "lines", i, "port"),
                        f"port {mline.port} is also a serial line: give Modbus RTU devices "
                        "their own RS-485 line (one owner per port)",
                    )
                )
    if cfg.serial is not None:
        from hallctl.drivers.serial_config import check as check_serial

        problems.extend(check_serial(cfg.serial, cfg))
    if cfg.sinks:
        from hallctl.forward.checks import check_sinks

        problems.extend(check_sinks(cfg))
    if cfg.web is not None or cfg.kiosks is not None:
        from hallctl.web.checks import check as check_web

        problems.extend(check_web(cfg))
    if cfg.voice is not None:
        from hallctl.voice.checks import check as check_voice

        problems.extend(check_voice(cfg, cfg.voice))
    for code in sorted(set(cfg.supervision.norms.services) - known):
        add(Problem(("supervision", "norms", "services", code), f"unknown service {code!r}"))
    return problems
