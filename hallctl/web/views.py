"""What the public pages see: a flat view of the hall, key → payload, for the live hub.

Only what a screen in the hall may show: windows (with the staff card, 挂牌上岗), services with
waiting counts and estimates, the latest calls, notices, and the state of the kiosks' printers.
Masked IDs, hall alarms and staff attendance stay out; the staff console (another view) has them.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hallctl.hall.views import calls_view, service_view, window_view
from hallctl.journal import Record

if TYPE_CHECKING:
    from hallctl.hall.core import Hall
    from hallctl.web.config import WebSection

# Record types a page also receives as they happen (with the data below).
PAGE_EVENTS = ("ticket.called", "ticket.recalled", "notice.changed", "voice.announced")
_EVENT_FIELDS = ("ticket", "window", "window_name", "service", "service_name", "zone", "text",
                 "audio_url", "count")


def public_view(
    hall: Hall, web: WebSection, printers: Iterable[str] = (), photos: Container[str] = ()
) -> dict[str, Any]:
    config = hall.config
    out: dict[str, Any] = {
        "hall": {"id": config.hall.id, "name": config.hall.name, "tz": config.hall.timezone},
    }
    for w in config.windows:
        out[f"windows/{w.number}"] = _window(hall, w.number, photos)
    for s in config.services:
        view = service_view(hall, s.code)
        view["name_en"] = s.name_en
        out[f"services/{s.code}"] = view
    out["calls"] = calls_view(hall)["calls"][: web.calls_shown]
    out["notices"] = _notices(hall, web)
    for device in printers:
        out[f"printers/{device}"] = _printer(hall, device)
    return out


def _window(hall: Hall, number: int, photos: Container[str]) -> dict[str, Any]:
    view = window_view(hall, number)
    staff = view.get("staff")
    if staff is not None and staff["id"] in photos:
        staff["photo"] = f"/staff/{staff['id']}/photo"
    view.pop("suspended", None)  # ticket numbers a citizen may not know are parked
    state = hall.state
    w = state.window(number)
    evaluating = None
    for ticket in (w.current, w.last_finished):
        t = state.tickets.get(ticket) if ticket else None
        if t is not None and not t.evaluated and ticket in state.pending_evaluations:
            evaluating = ticket
            break
    view["evaluating"] = evaluating
    return view


def _notices(hall: Hall, web: WebSection) -> dict[str, str]:
    """zone → text; "" is the hall-wide line (the hall file's unless changed at run time)."""
    notices = hall.state.notices
    out = {"": notices.get(None) or web.notice}
    for zone, text in notices.items():
        if zone is not None and text:
            out[zone] = text
    return out


def _printer(hall: Hall, device: str) -> dict[str, Any]:
    info = hall.state.devices.get(device)
    alarms = sorted(
        a.get("alarm", "") for a in hall.state.device_alarms.values() if a.get("device") == device
    )
    detail = next(
        (a.get("detail") for a in hall.state.device_alarms.values()
         if a.get("device") == device and a.get("alarm") == "print_failed"),
        None,
    )
    return {
        "online": None if info is None else bool(info["online"]),
        "alarms": alarms,
        "failed": detail,
    }


def event_data(record: Record) -> dict[str, Any] | None:
    data = json.loads(record.data)
    return {k: data[k] for k in _EVENT_FIELDS if k in data}


def hall_now(hall: Hall) -> str:
    return datetime.now(hall.config.hall.tz).isoformat(timespec="milliseconds")
