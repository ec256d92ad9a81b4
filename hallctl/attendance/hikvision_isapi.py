"""Hikvision face terminals pushing ISAPI `AccessControllerEvent`s (HTTP listening / httpHosts).

The terminal POSTs to a configured host and path, either a JSON body or multipart/form-data with
an `event_log` part (JSON; some firmware names it `AccessControllerEvent`) and the face picture
(`Picture`). A punch is `majorEventType` 5 (event) with an authentication-passed
`subEventType` (75 face, 38 fingerprint, 1 card) and an `attendanceStatus`.

Everything else (heartbeats, door events, strangers) is acknowledged with 200 so the terminal
does not queue it for resending, and ignored. The picture is dropped unless the hall keeps
pictures locally; it never goes to the hall engine or further.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from hallctl import json_input
from hallctl.attendance.config import IsapiConfig, IsapiTerminal
from hallctl.attendance.records import AttendanceRecord, record_key
from hallctl.attendance.sink import AttendanceSink

log = structlog.get_logger(__name__)

_EMPLOYEE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
_EVENT_PARTS = ("event_log", "AccessControllerEvent")
_OK = {"statusCode": 1, "statusString": "OK", "subStatusCode": "ok"}


class BadEvent(ValueError):
    """The body is not an ISAPI event we can read."""


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
        token = request.match_info.get("token")
        if token is not None:
            return self._by_token.get(token)
        try:
            peer = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return None
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
            peer = peer.ipv4_mapped
        return self._by_ip.get(peer)

    async def _event(self, request: web.Request) -> web.Response:
        terminal = self._terminal(request)
        if terminal is None:
            self.stats["unknown_terminal"] += 1
            log.warning("isapi.unknown_terminal", peer=request.remote, path=request.path[:96])
            return web.json_response({"statusCode": 4, "statusString": "Forbidden"}, status=403)
        self.last_seen[terminal.device] = time.monotonic()
        try:
            event, picture = await _read_event(request)
        except BadEvent as exc:
            self.stats["malformed"] += 1
            log.warning("isapi.malformed", device=terminal.device, reason=str(exc))
            return web.json_response({"statusCode": 6, "statusString": str(exc)}, status=400)
        record = self._record(terminal, event)
        if record is None:
            return web.json_response(_OK)
        report = await self._sink.deliver([record])
        if report.retry:
            # The terminal keeps unacknowledged events and posts them again later.
            return web.json_response({"statusCode": 2, "statusString": "Busy"}, status=503)
        if picture is not None and self._picture_dir is not None:
            await asyncio.to_thread(self._keep_picture, record, picture)
        return web.json_response(_OK)

    def _record(self, terminal: IsapiTerminal, event: dict[str, Any]) -> AttendanceRecord | None:
        """The punch in the event, or None (counted) when it is not one."""
        ace = event.get("AccessControllerEvent")
        if event.get("eventType") != "AccessControllerEvent" or not isinstance(ace, dict):
            self.stats["ignored_event"] += 1
            return None
        if ace.get("majorEventType") != 5 or ace.get("subEventType") not in (
            self._config.sub_event_types
        ):
            self.stats["ignored_event"] += 1
            return None
        employee = ace.get("employeeNoString", ace.get("employeeNo"))
        employee = str(employee) if isinstance(employee, str | int) else ""
        if not _EMPLOYEE.match(employee):
            self.stats["no_employee"] += 1
            log.info("isapi.no_employee", device=terminal.device, sub=ace.get("subEventType"))
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
        return when if when.tzinfo is not None else when.replace(tzinfo=self._zone)

    def _keep_picture(self, record: AttendanceRecord, picture: bytes) -> None:
        assert self._picture_dir is not None
        folder = self._picture_dir / record.device
        folder.mkdir(parents=True, exist_ok=True)
        # record_key is [A-Za-z0-9_-]+@digitsTdigitsZ: safe as a file name.
        (folder / (record.record_key + ".jpg")).write_bytes(picture)


async def _read_event(request: web.Request) -> tuple[dict[str, Any], bytes | None]:
    """The event JSON and, if the body had one, the picture bytes."""
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request)
    body = await request.read()
    if body.lstrip()[:1] == b"<":
        # Older firmware's XML EventNotificationAlert (heartbeats, camera events): not a punch.
        return {}, None
    return _json_object(body), None


async def _read_multipart(request: web.Request) -> tuple[dict[str, Any], bytes | None]:
    # post() reads the whole body within the server's size limit (413 beyond it).
    try:
        form = await request.post()
    except ValueError as exc:
        raise BadEvent("unreadable multipart body") from exc
    event: dict[str, Any] | None = None
    picture: bytes | None = None
    for name, value in form.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            if name not in _EVENT_PARTS:
                picture = picture or data
                continue
        else:
            data = value.encode() if isinstance(value, str) else bytes(value)
        if name in _EVENT_PARTS:
            event = _json_object(data)
        elif picture is None and data[:3] == b"\xff\xd8\xff":  # JPEG without a file name
            picture = data
    if event is None:
        raise BadEvent("multipart body without an event_log part")
    return event, picture


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json_input.loads(data)
    except json_input.JsonInputError as exc:
        raise BadEvent(f"body is not usable JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadEvent("event is not a JSON object")
    return value
