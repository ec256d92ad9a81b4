"""The hall pages as one component: a live hub, the page shell and the pages.

The kiosk page's requests are mounted by the kiosk component (hallctl.wiring), which owns the
one kiosk gateway, so a kiosk's MQTT and page requests share permissions and rate limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hallctl.components import Needs
from hallctl.web.live import LiveHub
from hallctl.web.pages import HallPages
from hallctl.web.photos import StaffPhotos, load_photos
from hallctl.web.shell import Shell
from hallctl.web.views import PAGE_EVENTS, event_data, hall_now, public_view

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig
    from hallctl.engine import HallEngine
    from hallctl.web.config import WebSection


class WebPages:
    """Routes for the public pages, and the hub that keeps them live (`run`)."""

    name = "web"

    def __init__(self, config: HallConfig, section: WebSection, engine: HallEngine) -> None:
        kiosks = config.kiosks
        photos_dir = section.photos_dir
        if photos_dir is not None and not photos_dir.is_absolute():
            photos_dir = config.data_dir / photos_dir
        self.photos = StaffPhotos(section, load_photos(photos_dir, [s.id for s in config.staff]))
        printers = sorted({k.printer for k in kiosks.kiosks if k.printer} if kiosks else set())
        self.hub = LiveHub(
            engine,
            # engine.hall is read at each call: recover() replaces it
            lambda: public_view(engine.hall, section, printers, self.photos.photos),
            events=PAGE_EVENTS,
            event_data=event_data,
            now=lambda: hall_now(engine.hall),
        )
        self.shell = Shell()
        self.pages = HallPages(config, section, self.hub, self.shell)

    def needs(self) -> Needs:
        return Needs(routes=self.shell.routes() + self.pages.routes() + self.photos.routes())

    async def run(self) -> None:
        await self.hub.run()
