"""What the staff console and the supervisor page see: the hall as staff may know it.

Unlike the public view (views.py), this one has ticket details (channel, issue time, wait so
far), suspended tickets, the next tickets of every line, today's counts per window and service,
alarms and devices. It is shown only to logged-in staff (the live channel checks the session).
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from hallctl.hall.state import CLASSES, WAITING
from hallctl.hall.views import service_view, window_view
from hallctl.web.day_counts import DayCounts

if TYPE_CHECKING:
    from hallctl.hall.core import Hall
    from hallctl.hall.state import Ticket

NEXT_SHOWN = 6
GOOD_LEVELS = (3, 4, 5)  # 基本满意 and better count as satisfied


def _iso(hall: Hall, at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, hall.config.hall.tz).isoformat(timespec="seconds")


def _ticket(hall: Hall, t: Ticket) -> dict[str, Any]:
    svc = hall.config.service(t.service)
    return {
        "ticket": t.number,
        "service": t.service,
        "service_name": svc.name,
        "channel": t.channel,
        "state": t.state,
        "issued_at": _iso(hall, t.issued_at),
        "waiting_since": _iso(hall, t.waiting_since),
        "called_at": _iso(hall, t.called_at),
        "served_at": _iso(hall, t.served_at),
        "recalls": t.recalls,
        "transfers": t.transfers,
    }


def console_view(hall: Hall, counts: DayCounts) -> dict[str, Any]:
    config, state = hall.config, hall.state
    out: dict[str, Any] = {
        "hall": {"id": config.hall.id, "name": config.hall.name, "tz": config.hall.timezone,
                 "day": state.day},
        "services": [{"code": s.code, "name": s.name} for s in config.services],
        "staff": [{"id": p.id, "name": p.name, "staff_no": p.staff_no} for p in config.staff],
    }
    for wc in config.windows:
        n = wc.number
        view = window_view(hall, n)
        w = state.window(n)
        current = state.tickets.get(w.current) if w.current else None
        view["current"] = _ticket(hall, current) if current is not None else None
        view["suspended"] = [_ticket(hall, state.tickets[x]) for x in w.suspended
                             if x in state.tickets]
        view["services"] = [{"service": ws.service, "level": ws.level} for ws in wc.services]
        view["opened_at"] = _iso(hall, w.opened_at) if w.status != "closed" else None
        view["evaluating"] = next(
            (x for x in (w.current, w.last_finished) if x and x in state.pending_evaluations),
            None,
        )
        out[f"windows/{n}"] = view
        out[f"counts/{n}"] = counts.window(n).view()
    for s in config.services:
        view = service_view(hall, s.code)
        line = state.lines.get(s.code)
        upcoming: list[dict[str, Any]] = []
        if line is not None:
            for cls in CLASSES:
                for _, number in islice(line.queues[cls], NEXT_SHOWN - len(upcoming)):
                    t = state.tickets[number]
                    if t.state == WAITING:
                        upcoming.append({"ticket": number, "channel": t.channel,
                                         "waiting_since": _iso(hall, t.waiting_since)})
        view["next"] = upcoming
        view["oldest_since"] = min((u["waiting_since"] for u in upcoming), default=None)
        override = state.service_overrides.get(s.code, {})
        view["issuing"] = override.get("issuing", True)
        view["cap_today"] = override.get("cap", s.capacity)
        tally = counts.service(s.code).view()
        view.update(served=tally["served"], no_show=tally["no_show"],
                    mean_wait_min=tally["mean_wait_min"])
        out[f"lines/{s.code}"] = view
    out["alarms"] = sorted(
        (dict(a, since=_iso(hall, a.get("since"))) for a in state.alarms.values()),
        key=lambda a: a["since"] or "",
    )
    out["devices"] = {
        d: {"online": bool(i["online"]), "detail": i.get("detail"),
            "alarms": sorted(a["alarm"] for a in state.device_alarms.values()
                             if a.get("device") == d)}
        for d, i in sorted(state.devices.items())
    }
    total = sum(state.evaluations.values())
    good = sum(n for level, n in state.evaluations.items() if level in GOOD_LEVELS)
    out["kpi"] = {
        "issued": sum(state.issued.values()),
        "served": sum(t.served for t in counts.windows.values()),
        "no_show": sum(t.no_show for t in counts.windows.values()),
        "waiting": sum(len(line) for line in state.lines.values()),
        "evaluations": total,
        "satisfaction": round(100 * good / total, 2) if total else None,
        "staff_on_duty": sorted(state.staff_on_duty),
    }
    return out
