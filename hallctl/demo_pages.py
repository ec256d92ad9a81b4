"""The demo hall's page URLs, printed when it starts (its screens' tokens are `demo-<id>`)."""

from __future__ import annotations

import asyncio

from hallctl.components import Component
from hallctl.config.models import HallConfig

DEMO_TOKEN_PREFIX = "demo-"


async def page_urls(cfg: HallConfig, components: list[Component]) -> list[str]:
    """One line per screen: what it is and where to open it (once the front listens)."""
    front = next((c for c in components if c.name == "http"), None)
    if cfg.web is None or front is None:
        return []
    server = front.server  # type: ignore[attr-defined]
    for _ in range(100):  # the daemon is ready before its front has bound its port
        if server.running:
            break
        await asyncio.sleep(0.05)
    else:
        return ["  (the HTTP front did not start; see the log)"]
    base = server.base_url
    out = []
    for s in cfg.web.screens:
        path = {"display": f"/display/{s.id}", "window": f"/display/window/{s.window}",
                "kiosk": f"/kiosk/{s.kiosk_id}"}[s.page]
        out.append(f"  {s.page:<8} {base}{path}?t={DEMO_TOKEN_PREFIX}{s.id}")
    return out


def demo_password(staff_no: str) -> str:
    return f"demo{staff_no}"


def staff_logins(cfg: HallConfig, components: list[Component]) -> list[str]:
    """Give the demo's staff passwords (`demo<staff no>`) and say where to log in with them."""
    from hallctl.accounts.credentials import Credentials

    front = next((c for c in components if c.name == "http"), None)
    if front is None or not any(c.name == "accounts" for c in components):
        return []
    credentials = Credentials(cfg.accounts.credentials_file or cfg.data_dir / "credentials.json")
    for person in cfg.staff:
        credentials.set_password(person.id, demo_password(person.staff_no))
    base = front.server.base_url  # type: ignore[attr-defined]
    staff = [p for p in cfg.staff if p.access == "staff"]
    bosses = [p for p in cfg.staff if p.access != "staff"]
    out = []
    if staff:
        first = staff[0]
        out.append(f"  staff    {base}/staff       工号 {first.staff_no}, password "
                   f"{demo_password(first.staff_no)} (any of {len(staff)}: demo<工号>)")
    for p in bosses:
        out.append(f"  {p.access:<8} {base}/supervisor  工号 {p.staff_no}, password "
                   f"{demo_password(p.staff_no)}; reports at {base}/reports/")
    return out
