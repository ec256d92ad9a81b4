"""ZKTeco push protocol ("ADMS", iclock): the clock is the HTTP client, hallctl the server.

The conversation, as a clock holds it:
- `GET  /iclock/cdata?SN=…&options=all` → an options block telling it what to send and how often;
- `POST /iclock/cdata?SN=…&table=ATTLOG&Stamp=…` → punches, one tab-separated line each:
  `PIN  YYYY-MM-DD HH:MM:SS  status  verify  workcode  reserved  reserved [mask  temperature]`;
  answered `OK: <lines taken>`. Anything else makes the clock keep the lines and resend them
  after ErrorDelay, which is what we want while the hall cannot record them;
- `GET  /iclock/getrequest?SN=…` every Delay seconds → `OK` or a command `C:<id>:<command>`;
- `POST /iclock/devicecmd?SN=…` → `ID=<id>&Return=<code>&CMD=<command>` lines, answered `OK`.

Firmware differs: some wrap the lines in a form field `data=` (with `table=`, `Stamp=` before
it), some use the `.aspx` paths, `INFO` results come with one line per device property; all are
accepted (`zkteco_adms_wire`). A punch line that cannot be read is kept raw in the quarantine
before the clock is told OK (`quarantine`). Clock time is hall-local wall time without an offset.

Who may push: the SN must be configured; a clock with `allow_from` only from those addresses;
a clock with `comm_key_sha256` must present its `pushcommkey` (at the handshake; requests
without it are taken only from the address that last presented it). See docs/attendance.md.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from hallctl.attendance.access import (
    KeyedAddresses,
    address_allowed,
    key_matches,
    peer_address,
    query_value,
)
from hallctl.attendance.config import AdmsClock, AdmsConfig
from hallctl.attendance.quarantine import Quarantine
from hallctl.attendance.records import AttendanceRecord, record_key
from hallctl.attendance.sink import AttendanceSink
from hallctl.attendance.store import AttendanceStore
from hallctl.attendance.zkteco_adms_wire import CommandReply, read_command_replies, read_upload

log = structlog.get_logger(__name__)

_PIN = re.compile(r"^[A-Za-z0-9_\-]{1,24}$")
_MAX_RESULTS = 256


@dataclass(frozen=True, slots=True)
class AttlogLine:
    pin: str
    time: datetime  # aware, in the hall zone
    status: int
    raw: str  # the line as the clock sent it


@dataclass(frozen=True, slots=True)
class CommandResult:
    command_id: int
    device: str
    return_code: int | None
    command: str


def parse_attlog(text: str, zone: ZoneInfo) -> tuple[list[AttlogLine], list[str]]:
    """Good lines and the raw malformed ones; a bad line never spoils its neighbours."""
    good: list[AttlogLine] = []
    malformed: list[str] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        line = _parse_line(raw, zone)
        if line is None:
            malformed.append(raw)
        else:
            good.append(line)
    return good, malformed


def _parse_line(raw: str, zone: ZoneInfo) -> AttlogLine | None:
    fields = [field.strip() for field in raw.split("\t")]
    if len(fields) < 3 or not _PIN.match(fields[0]):
        return None
    try:
        naive = datetime.strptime(fields[1], "%Y-%m-%d %H:%M:%S")
        status = int(fields[2])
    except ValueError:
        return None
    # fold=0: in a zone with DST the repeated hour is read as its first occurrence.
    return AttlogLine(pin=fields[0], time=naive.replace(tzinfo=zone), status=status, raw=raw)


def _plain(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", charset="utf-8")


class AdmsReceiver:
    """Serves the iclock endpoints for the configured clocks and feeds punches to the sink."""

    def __init__(
        self,
        config: AdmsConfig,
        sink: AttendanceSink,
        zone: ZoneInfo,
        store: AttendanceStore | None = None,
    ) -> None:
        """`store`: where unreadable lines and key bindings are kept (the journal's file);
        None keeps them in memory (tests only)."""
        self._config = config
        self._sink = sink
        self._zone = zone
        store = store or AttendanceStore(None)
        self.quarantine = Quarantine(store)
        # SN → the address that last presented the clock's communication key
        self._keyed_from = KeyedAddresses(store)
        self._clocks: dict[str, AdmsClock] = {clock.sn: clock for clock in config.clocks}
        # In memory only: after a restart the clock is told "None" and resends what it has;
        # request ids and the sink's age limit make that harmless.
        self._stamps: dict[str, str] = {}
        self._commands: dict[str, deque[tuple[int, str]]] = {}
        self._sent: dict[int, tuple[str, str]] = {}
        self._ids = itertools.count(1)
        self.results: OrderedDict[int, CommandResult] = OrderedDict()
        # device id → what the clock said about itself (INFO): model, firmware, MAC, counts
        self.device_info: dict[str, dict[str, str]] = {}
        self.stats: Counter[str] = Counter()
        # device id → time.monotonic() of its last request: for an availability watchdog.
        self.last_seen: dict[str, float] = {}

    def routes(self) -> list[web.RouteDef]:
        routes: list[web.RouteDef] = []
        for suffix in ("", ".aspx"):
            routes += [
                web.get("/iclock/cdata" + suffix, self._handshake),
                web.post("/iclock/cdata" + suffix, self._upload),
                web.get("/iclock/getrequest" + suffix, self._getrequest),
                web.post("/iclock/devicecmd" + suffix, self._devicecmd),
            ]
        routes.append(web.get("/iclock/ping", self._ping))
        return routes

    def queue_command(self, device: str, command: str) -> int:
        """Queue a command (e.g. `INFO`, `REBOOT`) for the clock with this hall device id."""
        sn = next((c.sn for c in self._clocks.values() if c.device == device), None)
        if sn is None:
            raise KeyError("no ADMS clock with device id " + device)
        if "\n" in command or "\r" in command:
            raise ValueError("an ADMS command is a single line")
        command_id = next(self._ids)
        self._commands.setdefault(sn, deque()).append((command_id, command))
        return command_id

    async def _clock(self, request: web.Request) -> AdmsClock | None:
        sn = request.query.get("SN", "")
        clock = self._clocks.get(sn)
        if clock is None:
            self.stats["unknown_sn"] += 1
            # The SN is cut short: a hostile client must not fill the log with it.
            log.warning("adms.unknown_sn", sn=sn[:64], path=request.path, peer=request.remote)
            return None
        refusal = await self._access(clock, request)
        if refusal is not None:
            self.stats[refusal] += 1
            log.warning("adms.refused", reason=refusal, device=clock.device, path=request.path,
                        peer=request.remote)
            return None
        self.last_seen[clock.device] = time.monotonic()
        return clock

    async def _access(self, clock: AdmsClock, request: web.Request) -> str | None:
        """None when the request may act for `clock`, else the reason it may not."""
        peer = peer_address(request.remote)
        if not address_allowed(peer, clock.allow_from):
            return "address_refused"
        if clock.comm_key_sha256 is None:
            return None
        presented = query_value(request.query, "pushcommkey")
        if presented is not None:
            if not key_matches(presented, clock.comm_key_sha256):
                return "bad_comm_key"
            if peer is not None and self._keyed_from.get(clock.sn) != peer:
                # a durable write, off the event loop (the journal may hold the file briefly)
                await asyncio.to_thread(self._keyed_from.set, clock.sn, peer)
            return None
        # Firmware sends the key at its handshake only: later requests ride on that address.
        if peer is None or self._keyed_from.get(clock.sn) != peer:
            return "comm_key_missing"
        return None

    @staticmethod
    def _refused() -> web.Response:
        return _plain("ERROR: device not allowed\n", status=403)

    async def _handshake(self, request: web.Request) -> web.Response:
        clock = await self._clock(request)
        if clock is None:
            return self._refused()
        self.stats["handshake"] += 1
        log.info(
            "adms.handshake",
            device=clock.device,
            pushver=request.query.get("pushver", "")[:32],
            peer=request.remote,
        )
        return _plain(self.options_block(clock.sn))

    def options_block(self, sn: str) -> str:
        config = self._config
        lines = [
            "GET OPTION FROM: " + sn,
            "ATTLOGStamp=" + self._stamps.get(sn, "None"),
            # 9999: we do not want the operation log (user edits, enrolments) at all.
            "OPERLOGStamp=9999",
            "ATTPHOTOStamp=None",
            "ErrorDelay=" + str(config.error_delay_s),
            "Delay=" + str(config.delay_s),
            "TransTimes=" + config.trans_times,
            "TransInterval=" + str(config.trans_interval_min),
            "TransFlag=TransData AttLog",
            "Realtime=1",
            "Encrypt=0",
        ]
        offset = datetime.now(self._zone).utcoffset()
        if offset is not None and offset.total_seconds() % 3600 == 0:
            lines.append("TimeZone=" + str(int(offset.total_seconds() // 3600)))
        return "\n".join(lines) + "\n"

    async def _upload(self, request: web.Request) -> web.Response:
        clock = await self._clock(request)
        if clock is None:
            return self._refused()
        body = await request.read()  # the server's body limit applies here
        upload = read_upload(request.query, body)
        if upload.table != "ATTLOG":
            # OPERLOG, ATTPHOTO, USERINFO…: acknowledged so the clock moves on, not kept.
            self.stats["ignored_table"] += 1
            log.debug("adms.table_ignored", device=clock.device, table=upload.table[:32])
            lines = len(upload.text.splitlines()) if upload.table == "OPERLOG" else 0
            return _plain("OK: " + str(lines) if lines else "OK")
        return await self._attlog(clock, upload.text, upload.stamp)

    async def _attlog(self, clock: AdmsClock, text: str, stamp: str | None) -> web.Response:
        lines, malformed = parse_attlog(text, self._zone)
        records: list[AttendanceRecord] = []
        unmapped: list[str] = []
        for line in lines:
            direction = self._config.status_map.get(line.status)
            if direction is None:
                unmapped.append(line.raw)
                continue
            records.append(
                AttendanceRecord(
                    device=clock.device,
                    source="zkteco_adms",
                    staff_external_id=line.pin,
                    time=line.time,
                    direction=direction,
                    record_key=record_key(line.pin, line.time),
                )
            )
        # Kept before anything is acknowledged: the clock forgets what we answer OK to. A line
        # whose status the hall does not map is kept too: mapping it later must not find it gone.
        for reason, kept in (("unreadable ATTLOG line", malformed),
                             ("status not in adms.status_map", unmapped)):
            if not kept:
                continue
            try:
                await self.quarantine.keep_async(clock.device, "zkteco_adms", reason, kept)
            except Exception as exc:
                log.error("adms.quarantine_failed", device=clock.device, error=str(exc))
                return _plain("ERROR: cannot keep the lines\n", status=503)
            self.stats["quarantined"] += len(kept)
            log.warning("adms.lines_quarantined", device=clock.device, reason=reason,
                        lines=len(kept))
        self.stats["lines"] += len(lines)
        self.stats["malformed"] += len(malformed)
        self.stats["unmapped_status"] += len(unmapped)
        report = await self._sink.deliver(records)
        if report.retry:
            # Not "OK": the clock keeps these lines and posts them again after ErrorDelay.
            # Malformed ones it resends are quarantined again: a duplicate, never a loss.
            return _plain("ERROR: hall unavailable\n", status=503)
        if stamp and stamp.isdigit():
            self._stamps[clock.sn] = stamp
        return _plain("OK: " + str(len(lines) + len(malformed)))

    async def _getrequest(self, request: web.Request) -> web.Response:
        clock = await self._clock(request)
        if clock is None:
            return self._refused()
        self.stats["poll"] += 1
        queue = self._commands.get(clock.sn)
        if not queue:
            return _plain("OK")
        command_id, command = queue.popleft()
        self._sent[command_id] = (clock.sn, command)
        log.info("adms.command_sent", device=clock.device, id=command_id, command=command)
        return _plain("C:" + str(command_id) + ":" + command + "\n")

    async def _devicecmd(self, request: web.Request) -> web.Response:
        clock = await self._clock(request)
        if clock is None:
            return self._refused()
        text = (await request.read()).decode("utf-8", errors="replace")
        replies, stray = read_command_replies(text)
        for reply in replies:
            if self._command_result(clock, reply) and reply.info:
                await self._device_info(clock, reply.info)
        if stray:
            self.stats["stray_result_line"] += len(stray)
            log.warning("adms.stray_result_lines", device=clock.device, lines=len(stray))
        return _plain("OK")

    def _command_result(self, clock: AdmsClock, reply: CommandReply) -> bool:
        """Match a result to the command we sent; False (counted) when we sent none."""
        raw_id = reply.command_id
        sent = self._sent.pop(int(raw_id), None) if raw_id.isdigit() else None
        if sent is None or sent[0] != clock.sn:
            self.stats["unexpected_result"] += 1
            log.warning("adms.unexpected_result", device=clock.device, id=raw_id[:16])
            return False
        code = reply.return_code
        result = CommandResult(int(raw_id), clock.device, code, sent[1])
        self.results[result.command_id] = result
        while len(self.results) > _MAX_RESULTS:
            self.results.popitem(last=False)
        self.stats["command_result"] += 1
        log.info("adms.command_result", device=clock.device, id=raw_id, return_code=code)
        return True

    async def _device_info(self, clock: AdmsClock, info: dict[str, str]) -> None:
        self.device_info[clock.device] = dict(info)
        self.stats["device_info"] += 1
        summary = _summary(info)
        log.info("adms.device_info", device=clock.device, **summary)
        detail = " ".join(key + "=" + value for key, value in summary.items())[:200]
        await self._sink.device_status(clock.device, online=True, detail=detail or None)

    async def _ping(self, request: web.Request) -> web.Response:
        if await self._clock(request) is None:
            return self._refused()
        return _plain("OK")


# INFO properties worth a log line and a status line (others stay in `device_info`).
_SUMMARY = ("DeviceName", "FWVersion", "MAC", "IPAddress", "UserCount", "TransactionCount")


def _summary(info: dict[str, str]) -> dict[str, Any]:
    return {key: info[key] for key in _SUMMARY if key in info}
