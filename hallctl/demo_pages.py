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
