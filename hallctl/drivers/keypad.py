"""Window caller keypad (protocols §1): keys → requests for its window; the keypad's digits
show the waiting count and the ticket in hand; a refused request beeps.

Two keys need the hall's state or config: the single pause key toggles pause/resume by the
window's current status, and transfer sends to the device's configured ``transfer_to``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from hallctl.codec.frame import Frame
from hallctl.codec.mapping import InputAction
from hallctl.drivers.base import FramedDriver, Redraw, window_view
from hallctl.drivers.display import ticket_digits

log = structlog.get_logger("hallctl.drivers.keypad")


class KeypadDriver(FramedDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.device.window is not None
        self.window: int = self.device.window
        self._redraw = Redraw()
        self._shown: tuple[str | None, str | None] | None = None

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(super().run())
            tg.create_task(self._redraw_loop())

    def notify(self, type_: str, data: dict[str, Any]) -> None:
        self._redraw.set()  # the runner routes only this window's events here

    async def on_connected(self) -> None:
        self._redraw.set(force=True)

    async def on_input(self, action: InputAction, frame: Frame) -> None:
        request = self._request_for(action)
        if request is None:
            await self._beep()
            return
        name = request.pop("action")
        response = await self.request(name, window=self.window, **request)
        log.info("keypad.key", device=self.id, window=self.window, action=name,
                 ok=response.get("ok"))
        if not response.get("ok"):
            await self._beep()
        self._redraw.set(force=True)  # the staff looks at the digits after every key

    def _request_for(self, action: InputAction) -> dict[str, Any] | None:
        assert action.action is not None
        fields: dict[str, Any] = {"action": action.action, **action.fields}
        if action.action == "pause_window":
            view = window_view(self.hall, self.window)
            if view is not None and view["status"] == "paused":
                fields["action"] = "resume_window"
        elif action.action == "transfer":
            if self.device.transfer_to is None:
                log.warning("keypad.no_transfer_target", device=self.id, window=self.window)
                return None
            fields.update(service=self.device.transfer_to, front=self.device.transfer_front)
        return fields

    async def _beep(self) -> None:
        if self.has_output("beep"):
            await self.emit("beep")

    async def _redraw_loop(self) -> None:
        while True:
            force = await self._redraw.wait()
            view = window_view(self.hall, self.window)
            if view is None:
                continue
            current = view.get("current")
            number = ticket_digits(current["ticket"] if current else None)
            waiting = str(min(int(view.get("waiting", 0)), 999))
            shown = (waiting, number)
            if shown == self._shown and not force:
                continue
            if await self.emit("show_digits", waiting=waiting, number=number):
                self._shown = shown
