"""The hall pages as one component: a live hub, the page shell, the pages, the kiosk API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hallctl.web.live import LiveHub
from hallctl.web.pages import HallPages
from hallctl.web.shell import Shell
from hallctl.web.views import PAGE_EVENTS, event_data, hall_now, public_view

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig
    from hallctl.engine import HallEngine
    from hallctl.kiosk.gateway import KioskGateway
    from hallctl.web.config import WebSection


class WebPages:
    """Routes for the public pages, and the hub that keeps them live (`run`)."""

    name = "web"

    def __init__(
        self,
        config: HallConfig,
        section: WebSection,
        engine: HallEngine,
        gateway: KioskGateway | None = None,
    ) -> None:
        self.config = config
        kiosks = config.kiosks
        printers = sorted({k.printer for k in kiosks.kiosks if k.printer} if kiosks else set())
        self.hub = LiveHub(
            engine,
            lambda: public_view(engine.hall, section, printers),  # engine.hall: after recover
            events=PAGE_EVENTS,
            event_data=event_data,
            now=lambda: hall_now(engine.hall),
        )
        self.shell = Shell()
        self.pages = HallPages(config, section, self.hub, self.shell)
        self._routes = self.shell.routes() + self.pages.routes()
        if gateway is not None and kiosks is not None:
            from hallctl.web.kiosk_api import KioskPageApi

            api = KioskPageApi(config, section, kiosks, gateway, engine)
            self._routes += api.routes()

    def routes(self) -> list[web.RouteDef]:
        return list(self._routes)

    async def run(self) -> None:
        await self.hub.run()
