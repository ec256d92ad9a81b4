"""Ticket button panel (取号按键盒): a button → ``take_ticket`` for the service configured for
that button, with ``source`` = the panel, so the panel's printer prints the ticket."""

from __future__ import annotations

import structlog

from hallctl.codec.frame import Frame
from hallctl.codec.mapping import InputAction
from hallctl.drivers.base import FramedDriver

log = structlog.get_logger("hallctl.drivers.dispenser")


class DispenserDriver(FramedDriver):
    async def on_input(self, action: InputAction, frame: Frame) -> None:
        fields = dict(action.fields)
        button = fields.pop("button", None)
        service = self.device.buttons.get(button) if isinstance(button, int) else None
        if action.action == "take_ticket" and "service" not in fields:
            if service is None:
                log.warning("dispenser.unknown_button", device=self.id, button=button)
                await self._beep()
                return
            fields["service"] = service
        response = await self.request(str(action.action), **fields)
        log.info("dispenser.button", device=self.id, button=button, service=service,
                 ok=response.get("ok"), ticket=response.get("result", {}).get("ticket"))
        if not response.get("ok"):
            await self._beep()  # e.g. 今日已满 (daily cap) or outside the service's hours

    async def _beep(self) -> None:
        if self.has_output("beep"):
            await self.emit("beep")
