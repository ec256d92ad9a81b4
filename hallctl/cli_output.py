"""Human-readable answers for the CLI (``--json`` prints the raw response instead)."""

from __future__ import annotations

import unicodedata
from typing import Any

STATUS_ZH = {"open": "开放", "closed": "关闭", "paused": "暂停"}


def render(action: str, response: dict[str, Any]) -> str:
    if not response.get("ok"):
        err = response.get("error", {})
        return f"error [{err.get('code')}]: {err.get('message')} / {err.get('message_zh')}"
    r = response.get("result", {})
    if action == "status":
        return render_status(r)
    if action in ("take_ticket", "reprint"):
        return (
            f"{r['ticket']}  {r['service_name']}  ahead {r['ahead']}  "
            f"est. wait {r['est_wait_min']} min"
        )
    if action == "ticket_eta":
        if r["est_wait_min"] is None:
            return f"{r['ticket']}  {r['service_name']}  {r['state']}"
        return (
            f"{r['ticket']}  {r['service_name']}  ahead {r['ahead']}  "
            f"est. wait {r['est_wait_min']} min (as of {r['as_of']})"
        )
    if action in ("call_next", "call_back"):
        if r.get("ticket") is None:
            return f"window {r['window']}: nobody waiting"
        return f"请{r['ticket']}号到{r['window_name']}办理  ({r['service_name']})"
    if action == "recall":
        return f"重呼 {r['ticket']} at window {r['window']} ({r['count']})"
    if action == "transfer":
        front = "front" if r["front"] else "back"
        return f"{r['ticket']} → {r['to_service_name']} ({front} of the line, {r['ahead']} ahead)"
    if action == "evaluate":
        return f"{r['ticket']}: {r['label_zh']} ({r['level']})"
    if "ticket" in r and "window" in r:
        return f"{action}: {r['ticket']} at window {r['window']}"
    if "window" in r and "status" in r:
        return f"window {r['window']}: {STATUS_ZH.get(r['status'], r['status'])}"
    return f"{action}: ok"


def width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(value: object, cols: int, right: bool = False) -> str:
    text = str(value)
    fill = " " * max(0, cols - width(text))
    return fill + text if right else text + fill


def render_status(s: dict[str, Any]) -> str:
    lines = [f"{s['name']} ({s['hall']})  {s['now']}  tickets today: {s['tickets_today']}"]
    ev = s["evaluations"]
    if ev["total"]:
        lines[0] += f"  satisfaction: {ev['satisfaction']}% of {ev['total']}"
    lines.append("")
    lines.append(f"{'window':<14}{'status':<8}{'staff':<10}{'in hand':<12}{'waiting':>7}")
    for w in s["windows"]:
        staff = w["staff"]["name"] if w["staff"] else "-"
        cur = f"{w['current']['ticket']} {w['current']['state']}" if w["current"] else "-"
        status = STATUS_ZH.get(w["status"], w["status"])
        lines.append(
            pad(w["name"], 14)
            + pad(status, 8)
            + pad(staff, 10)
            + pad(cur, 12)
            + pad(w["waiting"], 7, right=True)
        )
    lines.append("")
    lines.append(f"{'service':<16}{'waiting':>8}{'issued':>8}{'cap':>6}{'est. min':>10}")
    for sv in s["services"]:
        lines.append(
            pad(sv["name"], 16)
            + pad(sv["waiting"], 8, True)
            + pad(sv["issued"], 8, True)
            + pad(sv["cap"], 6, True)
            + pad(sv["est_wait_min"], 10, True)
        )
    if s["calls"]:
        lines.append("")
        lines.append("last calls: " + ", ".join(f"{c['ticket']}→{c['window']}" for c in s["calls"]))
    offline = [d for d, st in s["devices"].items() if st != "online"]
    if s["devices"]:
        online = len(s["devices"]) - len(offline)
        lines.append(f"devices: {online} online, offline: {', '.join(offline) or 'none'}")
    for a in s["alarms"]:
        lines.append(f"ALARM {a['kind']}: {a['message']}")
    for a in s["device_alarms"]:
        lines.append(f"DEVICE ALARM {a['device']}: {a['alarm']} {a.get('detail') or ''}")
    return "\n".join(lines)
