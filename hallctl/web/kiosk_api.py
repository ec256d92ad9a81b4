"""The kiosk page's requests: `POST /kiosk/<id>/api/<action>`, answered by the kiosk gateway.

A kiosk is one identity whichever way it talks: its page's requests go through the same
`KioskGateway.answer` as its MQTT requests (same permissions, same token bucket, same
idempotency scoping), after the screen's token is checked. The page sends a fresh `request_id`
per tap, so a retried POST returns the same ticket. A ticket answer gets two page-only fields:
`qr_svg` (the QR of what the printer prints) and `print`, what the kiosk's printer can do now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hallctl.drivers.display import fill
from hallctl.kiosk.config import KIOSK_ACTIONS, KioskSection
from hallctl.kiosk.gateway import Origin
from hallctl.web.config import WebSection
from hallctl.web.qr import qr_svg
from hallctl.web.tokens import admits, refuse, token_of

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig
    from hallctl.kiosk.gateway import KioskEngine, KioskGateway

MAX_BODY = 4096  # a kiosk request is a few fields
PRINTER_STOPPED = frozenset({"paper_out", "cover_open", "offline", "error", "print_failed"})


class KioskPageApi:
    def __init__(
        self, config: HallConfig, web_section: WebSection, kiosks: KioskSection,
        gateway: KioskGateway, engine: KioskEngine,
    ) -> None:
        self._config = config
        self._web = web_section
        self._kiosks = kiosks
        self._gateway = gateway
        self._engine = engine  # read-only here: which alarms the kiosk's printer has now

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/kiosk/{kiosk}/api/{action}", self.post)]

    async def post(self, request: web.Request) -> web.Response:
        kiosk_id = request.match_info["kiosk"]
        if not admits(self._web.kiosk_screen(kiosk_id), token_of(request)):
            raise refuse()
        action = request.match_info["action"]
        if action not in KIOSK_ACTIONS:
            raise web.HTTPNotFound()
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(MAX_BODY, request.content_length)
        body = await request.read()  # whole body (a chunked one is capped by the front)
        if len(body) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(MAX_BODY, len(body))
        answer = await self._gateway.answer(Origin(kiosk_id, action, None, None), body)
        if answer.get("ok") and "ticket" in answer["result"] and "service" in answer["result"]:
            answer = {**answer, "result": self._ticket_extras(kiosk_id, answer["result"])}
        return web.json_response(answer, headers={"Cache-Control": "no-store"})

    def _ticket_extras(self, kiosk_id: str, result: dict[str, Any]) -> dict[str, Any]:
        kiosk = self._kiosks.kiosk(kiosk_id)
        printer = kiosk.printer if kiosk is not None else None
        return {
            **result,
            "qr_svg": qr_svg(self._qr_payload(printer, result)),
            "print": self._print_state(printer),
        }

    def _qr_payload(self, printer: str | None, result: dict[str, Any]) -> str:
        # The same payload the printer puts on paper, so both scan the same way.
        device = self._printer_device(printer)
        day = self._engine.hall.state.day
        if device is not None and device.qr_url:
            values = {"ticket": result["ticket"], "service": result["service"],
                      "hall": self._config.hall.id, "day": day}
            return fill(device.qr_url, values)
        return f"{self._config.hall.id}:{day}:{result['ticket']}"

    def _printer_device(self, printer: str | None) -> Any:
        if printer is None or self._config.serial is None:
            return None
        return next((d for d in self._config.serial.devices if d.id == printer), None)

    def _print_state(self, printer: str | None) -> str:
        """`none` (no printer), `printing`, or `stopped` (paper out, offline…: show the number)."""
        if printer is None:
            return "none"
        state = self._engine.hall.state
        info = state.devices.get(printer)
        if info is not None and not info["online"]:
            return "stopped"
        for alarm in state.device_alarms.values():
            if alarm.get("device") == printer and alarm.get("alarm") in PRINTER_STOPPED:
                return "stopped"
        return "printing"
