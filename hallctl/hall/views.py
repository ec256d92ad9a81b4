"""Read-only views of the hall: retained state payloads and the status summary."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hallctl.hall.core import Hall


def window_view(hall: Hall, number: int) -> dict[str, Any]:
    wc = hall.window_config(number)
    w = hall.state.window(number)
    staff = None
    if w.staff:
        person = hall.staff_config(w.staff)
        if person is not None:
            staff = {"id": person.id, "name": person.name, "staff_no": person.staff_no}
    current = None
    if w.current:
        t = hall.state.tickets[w.current]
        current = {"ticket": t.number, "service": t.service, "state": t.state, "recalls": t.recalls}
    waiting = sum(
        len(hall.state.lines[ws.service]) for ws in wc.services if ws.service in hall.state.lines
    )
    return {
        "window": number,
        "name": wc.display_name,
        "status": w.status,
        "staff": staff,
        "current": current,
        "suspended": list(w.suspended),
        "waiting": waiting,
        "pause_reason": w.pause_reason,
    }


def service_view(hall: Hall, code: str, now: datetime | None = None) -> dict[str, Any]:
    svc = hall.config.service(code)
    line = hall.state.lines.get(code)
    waiting = len(line) if line is not None else 0
    issued = hall.state.issued.get(code, 0)
    at = now.timestamp() if now is not None else hall.state.clock  # as of the latest event
    return {
        "service": code,
        "name": svc.name,
        "prefix": svc.prefix,
        "open": issued < svc.capacity,
        "waiting": waiting,
        "issued": issued,
        "cap": svc.capacity,
        "est_wait_min": hall.eta.services_min(at)[code],
    }


def calls_view(hall: Hall) -> dict[str, Any]:
    tz = hall.config.hall.tz
    return {
        "calls": [
            {
                "ticket": c["ticket"],
                "window": c["window"],
                "window_name": c["window_name"],
                "ts": datetime.fromtimestamp(c["at"], tz).isoformat(timespec="seconds"),
            }
            for c in hall.state.recent_calls
        ]
    }


def retained_state(hall: Hall) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for w in hall.config.windows:
        out[f"state/windows/{w.number}"] = window_view(hall, w.number)
    for s in hall.config.services:
        out[f"state/services/{s.code}"] = service_view(hall, s.code)
    out["state/calls"] = calls_view(hall)
    out["state/alarms"] = {"alarms": sorted(hall.state.alarms.values(), key=lambda a: a["alarm"])}
    for device, info in hall.state.devices.items():
        out[f"devices/{device}/availability"] = {
            "state": "online" if info["online"] else "offline",
            "detail": info.get("detail"),
        }
    return out


def status_summary(hall: Hall, now: datetime) -> dict[str, Any]:
    s = hall.state
    total = sum(s.evaluations.values())
    good = sum(n for lvl, n in s.evaluations.items() if lvl >= 3)
    return {
        "hall": hall.config.hall.id,
        "name": hall.config.hall.name,
        "day": s.day,
        "now": now.astimezone(hall.config.hall.tz).isoformat(timespec="seconds"),
        "windows": [window_view(hall, w.number) for w in hall.config.windows],
        "services": [service_view(hall, sv.code, now) for sv in hall.config.services],
        "calls": calls_view(hall)["calls"],
        "devices": {d: ("online" if i["online"] else "offline") for d, i in s.devices.items()},
        "device_alarms": list(s.device_alarms.values()),
        "alarms": list(s.alarms.values()),
        "staff_on_duty": sorted(s.staff_on_duty),
        "tickets_today": sum(s.issued.values()),
        "evaluations": {
            "total": total,
            "satisfaction": round(100 * good / total, 2) if total else None,
        },
    }
