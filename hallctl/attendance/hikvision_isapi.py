"""Hikvision face terminals pushing ISAPI `AccessControllerEvent`s (HTTP listening / httpHosts).

The terminal POSTs to a configured host and path, either a JSON body or multipart/form-data with
an `event_log` part (JSON; some firmware names it `AccessControllerEvent`) and the face picture
(`Picture`). A punch is `majorEventType` 5 (event) with an authentication-passed
`subEventType` (75 face, 38 fingerprint, 1 card) and an `attendanceStatus`.

Everything else (heartbeats, door events, strangers) is acknowledged with 200 so the terminal
does not queue it for resending, and ignored. The picture is dropped unless the hall keeps
pictures locally; it never goes to the hall engine or further.

Fields are read by type, never trusted: firmware that sends `subEventType` or any other field
as an object or a list gets the event counted as not a punch, not a server error. A body with
several events has every one of them taken (`isapi_body`).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from hallctl.attendance.access import address_allowed, peer_address
from hallctl.attendance.config import IsapiConfig, IsapiTerminal
from hallctl.attendance.isapi_body import BadEvent, read_events
from hallctl.attendance.records import AttendanceRecord, record_key
from hallctl.attendance.sink import AttendanceSink

log = structlog.get_logger(__name__)

_EMPLOYEE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
_OK = {"statusCode": 1, "statusString": "OK", "subStatusCode": "ok"}


def _int(value: object) -> int | None:
    """An integer field, also as decimal text ("75"); anything else (objects, lists) None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,9}", value.strip()):
        return int(value)
    return None


class IsapiReceiver:
    def __init__(
        self,
        config: IsapiConfig,
        sink: AttendanceSink,
        zone: ZoneInfo,
        *,
        picture_dir: Path | None = None,
    ) -> None:
        self._config = config
        self._sink = sink
        self._zone = zone
        self._picture_dir = picture_dir
        self._by_token = {t.token: t for t in config.terminals if t.token}
        self._by_ip = {t.ip: t for t in config.terminals if t.ip}
        self.stats: Counter[str] = Counter()
        # device id → time.monotonic() of its last event: for an availability watchdog.
        self.last_seen: dict[str, float] = {}

    def routes(self) -> list[web.RouteDef]:
        path = self._config.path
        return [web.post(path, self._event), web.post(path + "/{token}", self._event)]

    def _terminal(self, request: web.Request) -> IsapiTerminal | None:
        peer = peer_address(request.remote)
        token = request.match_info.get("token")
        if token is not None:
            terminal = self._by_token.get(token)
            if terminal is not None and not address_allowed(peer, terminal.allow_from):
                self.stats["address_refused"] += 1
                return None
            return terminal
        return self._by_ip.get(peer) if peer is not None else None

    async def _event(self, request: web.Request) -> web.Response:
        terminal = self._terminal(request)
        if terminal is None:
            self.stats["unknown_terminal"] += 1
            log.warning("isapi.unknown_terminal", peer=request.remote, path=request.path[:96])
            return web.json_response({"statusCode": 4, "statusString": "Forbidden"}, status=403)
        self.last_seen[terminal.device] = time.monotonic()
        try:
            parts = await read_events(request)
        except BadEvent as exc:
            self.stats["malformed"] += 1
            log.warning("isapi.malformed", device=terminal.device, reason=str(exc))
            return web.json_response({"statusCode": 6, "statusString": str(exc)}, status=400)
        if len(parts) > 1:
            self.stats["multi_event_body"] += 1
        for part in parts:
            record = self._record(terminal, part.event)
            if record is None:
                continue
            report = await self._sink.deliver([record])
            if report.retry:
                # The terminal keeps unacknowledged events and posts them again later; the
                # events of this body already taken are repeats then, answered idempotently.
                return web.json_response({"statusCode": 2, "statusString": "Busy"}, status=503)
            if part.picture is not None and self._picture_dir is not None:
                await asyncio.to_thread(self._keep_picture, record, part.picture)
        return web.json_response(_OK)

    def _record(self, terminal: IsapiTerminal, event: dict[str, Any]) -> AttendanceRecord | None:
        """The punch in the event, or None (counted) when it is not one."""
        ace = event.get("AccessControllerEvent")
        if event.get("eventType") != "AccessControllerEvent" or not isinstance(ace, dict):
            self.stats["ignored_event"] += 1
            return None
        if _int(ace.get("majorEventType")) != 5 or _int(ace.get("subEventType")) not in (
            self._config.sub_event_types
        ):
            self.stats["ignored_event"] += 1
            return None
        employee = ace.get("employeeNoString", ace.get("employeeNo"))
        employee = str(employee) if _int(employee) is not None or isinstance(employee, str) else ""
        if not _EMPLOYEE.match(employee):
            self.stats["no_employee"] += 1
            log.info("isapi.no_employee", device=terminal.device,
                     sub=_int(ace.get("subEventType")))
            return None
        when = self._time(event.get("dateTime"))
        if when is None:
            self.stats["malformed"] += 1
            log.warning("isapi.bad_time", device=terminal.device)
            return None
        status = ace.get("attendanceStatus")
        direction = self._config.status_map.get(status) if isinstance(status, str) else None
        if direction is None:
            self.stats["no_direction"] += 1
            log.info("isapi.no_direction", device=terminal.device, status=str(status)[:32])
            return None
        self.stats["punch"] += 1
        return AttendanceRecord(
            device=terminal.device,
            source="hikvision_isapi",
            staff_external_id=employee,
            time=when,
            direction=direction,
            record_key=record_key(employee, when),
        )

    def _time(self, value: object) -> datetime | None:
        if not isinstance(value, str):
            return None
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
        when = when if when.tzinfo is not None else when.replace(tzinfo=self._zone)
        try:
            when.astimezone(UTC)  # year 1 at +08:00 has no UTC time: not a punch time
        except OverflowError:
            return None
        return when

    def _keep_picture(self, record: AttendanceRecord, picture: bytes) -> None:
        assert self._picture_dir is not None
        folder = self._picture_dir / record.device
        folder.mkdir(parents=True, exist_ok=True)
        # record_key is [A-Za-z0-9_-]+@digitsTdigitsZ: safe as a file name.
        (folder / (record.record_key + ".jpg")).write_bytes(picture)

