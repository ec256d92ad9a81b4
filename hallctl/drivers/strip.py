"""LED text displays: a window's strip and the main hall display.

Both redraw from ``retained_state()`` (what should show *now*), never from the event that
woke them: a burst of events costs one frame, and after a reconnect the strip shows the
current text rather than replaying what it missed. Unchanged text is not resent except on
(re)connect, when the device may have lost it.
"""

from __future__ import annotations

from typing import Any

import structlog

from hallctl.drivers.base import FramedDriver, Redraw, calls_view, window_view
from hallctl.drivers.display import main_text, window_text
from hallctl.drivers.serial_config import Templates

log = structlog.get_logger("hallctl.drivers.strip")

MAIN_EVENTS = frozenset({"ticket.called", "day.started"})


class _TextDriver(FramedDriver):
    templates: Templates

    def __init__(self, *args: Any, templates: Templates, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.templates = templates
        self._redraw = Redraw()
        self._redraw.set(force=True)
        self.shown: str | None = None

    async def on_connected(self) -> None:
        self._redraw.set(force=True)

    def text(self) -> str | None:
        raise NotImplementedError

    async def run(self) -> None:
        while True:
            force = await self._redraw.wait()
            text = self.text()
            if text is None or (text == self.shown and not force):
                continue
            if await self.emit("show_text", text=text):
                self.shown = text
                log.debug("strip.shown", device=self.id, text=text)


class WindowStripDriver(_TextDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.device.window is not None
        self.window: int = self.device.window

    def notify(self, type_: str, data: dict[str, Any]) -> None:
        self._redraw.set()  # routed by window: every event of this window may change it

    def text(self) -> str | None:
        view = window_view(self.hall, self.window)
        return None if view is None else window_text(view, self.templates)


class MainDisplayDriver(_TextDriver):
    def notify(self, type_: str, data: dict[str, Any]) -> None:
        if type_ in MAIN_EVENTS:
            self._redraw.set()

    def text(self) -> str:
        return main_text(calls_view(self.hall), self.templates)
