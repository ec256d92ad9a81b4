"""Device availability → ``device_status`` requests, in order, only on transitions.

A device is online when its line is connected and (if it answers host frames at all) the
line's availability tracker has not given up on it. Devices that never answer (most keypads
and strips) are as online as their line. Reports go through one queue so that a quick
offline/online flap reaches the journal in the order it happened.
"""

from __future__ import annotations

import asyncio

import structlog

from hallctl.drivers.base import HallPort, RequestIds

log = structlog.get_logger("hallctl.drivers.presence")


class Presence:
    def __init__(self, hall: HallPort, ids: RequestIds) -> None:
        self.hall = hall
        self.ids = ids
        self.reported: dict[str, bool] = {}
        self._wanted: dict[str, tuple[bool, str | None]] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    def set(self, device: str, online: bool, detail: str | None = None) -> None:
        """Record the device's state now; a change is reported by ``run``."""
        previous = self._wanted.get(device)
        self._wanted[device] = (online, detail)
        if previous is None or previous[0] != online:
            self._queue.put_nowait(device)

    async def run(self) -> None:
        while True:
            device = await self._queue.get()
            online, detail = self._wanted[device]
            if self.reported.get(device) == online:
                continue  # flapped back before we reported it
            response = await self.hall.execute(
                {
                    "action": "device_status",
                    "request_id": self.ids.next(device),
                    "source": device,
                    "device": device,
                    "online": online,
                    "detail": detail,
                }
            )
            if response.get("ok"):
                self.reported[device] = online
                log.info("device.status", device=device, online=online, detail=detail)
            else:
                log.warning("device.status_refused", device=device, error=response.get("error"))
