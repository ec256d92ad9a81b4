"""The public pages: main and zone displays, window screens, kiosks; each bound to its screen.

    GET /display/<id>           大屏 (a display screen; `main` by convention)
    GET /display/window/<n>     窗口屏 over window n
    GET /kiosk/<id>             自助取号机
    GET /live/<page>/<id>       the page's live channel (SSE)

Every route checks the screen's token first (see tokens.py); a page without a valid token gets
a bare 403, never the hall's data.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hallctl.config.models import HallConfig
from hallctl.web.config import ScreenConfig, WebSection
from hallctl.web.live import LiveHub
from hallctl.web.shell import Shell
from hallctl.web.tokens import admits, refuse, token_of

WINDOW_PAGE_ID = "window"  # /display/window/<n>; no display screen may take this id


class HallPages:
    def __init__(self, config: HallConfig, web_section: WebSection, hub: LiveHub, shell: Shell):
        self._config = config
        self._web = web_section
        self._hub = hub
        self._shell = shell

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/display/window/{number:[0-9]{1,3}}", self.window_page),
            web.get("/display/{screen}", self.display_page),
            web.get("/kiosk/{screen}", self.kiosk_page),
            web.get("/live/{page}/{screen}", self.live),
        ]

    # -- screens ---------------------------------------------------------------------------

    def _screen(self, page: str, key: str) -> ScreenConfig | None:
        if page == "display":
            return self._web.display(key)
        if page == "window":
            return self._web.window_screen(int(key)) if key.isdigit() else None
        if page == "kiosk":
            return self._web.kiosk_screen(key)
        return None

    def _checked(self, request: web.Request, page: str, key: str) -> ScreenConfig:
        screen = self._screen(page, key)
        if not admits(screen, token_of(request)):
            raise refuse()
        assert screen is not None
        return screen

    def _common(self, page: str, key: str) -> dict[str, Any]:
        return {
            "page": page,
            "live": f"/live/{page}/{key}",
            "hall": self._config.hall.name,
            "tz": self._config.hall.timezone,
        }

    # -- pages -----------------------------------------------------------------------------

    async def display_page(self, request: web.Request) -> web.Response:
        key = request.match_info["screen"]
        screen = self._checked(request, "display", key)
        cfg = self._common("display", key) | {
            "title": screen.title or self._config.hall.name,
            "windows": screen.windows,
            "services": screen.services,
            "zone": screen.zone_id,
            "voice": screen.voice,
            "highlight_s": self._web.highlight_s,
        }
        return self._shell.page(
            title=cfg["title"], page="display", config=cfg,
            scripts=["display.js"], styles=["base.css", "display.css"],
        )

    async def window_page(self, request: web.Request) -> web.Response:
        key = request.match_info["number"]
        screen = self._checked(request, "window", key)
        assert screen.window is not None
        name = self._config.window(screen.window).display_name
        cfg = self._common("window", key) | {"window": screen.window, "name": name}
        return self._shell.page(
            title=name, page="window", config=cfg,
            scripts=["window.js"], styles=["base.css", "window.css"],
        )

    async def kiosk_page(self, request: web.Request) -> web.Response:
        key = request.match_info["screen"]
        screen = self._checked(request, "kiosk", key)
        kiosks = self._config.kiosks
        kiosk = kiosks.kiosk(screen.kiosk_id) if kiosks is not None else None
        if kiosk is None:
            raise refuse()  # a screen for a kiosk the hall does not have (`hallctl check` says)
        cfg = self._common("kiosk", key) | {
            "kiosk": kiosk.id,
            "where": kiosk.name,
            "api": f"/kiosk/{key}/api/",
            "idle_s": self._web.kiosk_idle_s,
            "printer": kiosk.printer,
            "green": kiosk.green_channel,
            "groups": self._groups(),
        }
        return self._shell.page(
            title="自助取号", page="kiosk", config=cfg,
            scripts=["kiosk.js"], styles=["base.css", "kiosk.css"],
        )

    def _groups(self) -> list[dict[str, Any]]:
        """Service groups in the order the hall file first names them."""
        groups: dict[str, list[str]] = {}
        for s in self._config.services:
            if s.group:
                groups.setdefault(s.group, []).append(s.code)
        return [{"name": name, "services": codes} for name, codes in groups.items()]

    async def live(self, request: web.Request) -> web.StreamResponse:
        self._checked(request, request.match_info["page"], request.match_info["screen"])
        return await self._hub.serve(request)
