"""Human-readable answers for the CLI (``--json`` prints the raw response instead)."""

from __future__ import annotations

import unicodedata
from typing import Any

STATUS_ZH = {"open": "开放", "closed": "关闭", "paused": "暂停"}
# what an action did, in words: a person reads this, not the request vocabulary
DONE = {
    "no_show": "no-show (过号)",
    "start_service": "service started (开始办理)",
    "finish": "finished (办结)",
    "suspend": "suspended (挂起)",
    "request_evaluation": "evaluation requested (请评价)",
    "rejoin": "back in the line (重新排队)",
}


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
        line = f"{r['ticket']}: {r['label_zh']} ({r['level']})"
        if r.get("started_service"):
            line += f"; {r['ticket']} had only been called, so its service is recorded as started"
        return line
    if action == "rejoin":
        return f"{r['ticket']}: {DONE['rejoin']}, {r['ahead']} ahead"
    if "ticket" in r and "window" in r:
        line = f"{r['ticket']} at window {r['window']}: {DONE.get(action, 'done')}"
        if r.get("started_service"):
            line += "; it had only been called, so its service is recorded as started"
        return line
    if "window" in r and "status" in r:
        line = f"window {r['window']}: {STATUS_ZH.get(r['status'], r['status'])} ({r['status']})"
        if r.get("finished"):
            line += f"; {r['finished']}, still in hand, was finished"
        return line
    return DONE.get(action, "done")


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
    lines += serial_lines(s.get("components", {}).get("serial"))
    for a in s["alarms"]:
        lines.append(f"ALARM {a['kind']}: {a['message']}")
    for a in s["device_alarms"]:
        lines.append(f"DEVICE ALARM {a['device']}: {a['alarm']} {a.get('detail') or ''}")
    sinks = s.get("components", {}).get("sinks")
    if sinks:
        lines.append("")
        lines.append(f"{'sink':<14}{'type':<12}{'state':<10}{'lag':>8}{'lag s':>8}  last error")
        for k in sinks:
            lines.append(
                pad(k["name"], 14) + pad(k["type"], 12) + pad(k["state"], 10)
                + pad(k["lag_records"], 8, True) + pad(k["lag_s"], 8, True)
                + "  " + (k["last_error"] or "-")[:60]
            )
    return "\n".join(lines)


def serial_lines(stats: dict[str, Any] | None) -> list[str]:
    """One line per serial line: is it open, frames decoded, bad frames by reason."""
    out = []
    for line_id, st in sorted((stats or {}).get("lines", {}).items()):
        decoder = st.get("decoder", {})
        bad = {k: v for k, v in decoder.items() if k not in ("frames", "noise_bytes") and v}
        why = " (" + ", ".join(f"{k} {v}" for k, v in sorted(bad.items())) + ")" if bad else ""
        state = "connected" if st.get("connected") else "NOT CONNECTED"
        out.append(
            f"serial line {line_id}: {state}, {decoder.get('frames', 0)} frames, "
            f"{st.get('bad_frames', 0)} bad{why}, {decoder.get('noise_bytes', 0)} noise bytes"
        )
    return out
