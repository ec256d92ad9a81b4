"""ZKTeco push protocol ("ADMS", iclock): the clock is the HTTP client, hallctl the server.

The conversation, as a clock holds it:
- `GET  /iclock/cdata?SN=…&options=all` → an options block telling it what to send and how often;
- `POST /iclock/cdata?SN=…&table=ATTLOG&Stamp=…` → punches, one tab-separated line each:
  `PIN  YYYY-MM-DD HH:MM:SS  status  verify  workcode  reserved  reserved [mask  temperature]`;
  answered `OK: <lines taken>`. Anything else makes the clock keep the lines and resend them
  after ErrorDelay, which is what we want while the hall cannot record them;
- `GET  /iclock/getrequest?SN=…` every Delay seconds → `OK` or a command `C:<id>:<command>`;
- `POST /iclock/devicecmd?SN=…` → `ID=<id>&Return=<code>&CMD=<command>` lines, answered `OK`.

Firmware differs: some wrap the lines in a form field `data=`, some use the `.aspx` paths; both
are accepted. Clock time is hall-local wall time without an offset.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from hallctl.attendance.config import AdmsClock, AdmsConfig
from hallctl.attendance.records import AttendanceRecord, record_key
from hallctl.attendance.sink import AttendanceSink

log = structlog.get_logger(__name__)

_PIN = re.compile(r"^[A-Za-z0-9_\-]{1,24}$")
_MAX_RESULTS = 256


@dataclass(frozen=True, slots=True)
class AttlogLine:
    pin: str
    time: datetime  # aware, in the hall zone
    status: int


@dataclass(frozen=True, slots=True)
class CommandResult:
    command_id: int
    device: str
    return_code: int | None
    command: str


def parse_attlog(text: str, zone: ZoneInfo) -> tuple[list[AttlogLine], int]:
    """Good lines and the number of malformed ones; a bad line never spoils its neighbours."""
    good: list[AttlogLine] = []
    malformed = 0
    for raw in text.splitlines():
        if not raw.strip():
            continue
        line = _parse_line(raw, zone)
        if line is None:
            malformed += 1
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
    return AttlogLine(pin=fields[0], time=naive.replace(tzinfo=zone), status=status)


def _plain(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", charset="utf-8")


def _body_text(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    # Some firmware posts the lines as a form field; the tab-separated lines never start so.
    if text.startswith("data="):
        return parse_qs(text, keep_blank_values=True).get("data", [""])[0]
    return text


class AdmsReceiver:
    """Serves the iclock endpoints for the configured clocks and feeds punches to the sink."""

    def __init__(self, config: AdmsConfig, sink: AttendanceSink, zone: ZoneInfo) -> None:
        self._config = config
        self._sink = sink
        self._zone = zone
        self._clocks: dict[str, AdmsClock] = {clock.sn: clock for clock in config.clocks}
        # In memory only: after a restart the clock is told "None" and resends what it has;
        # request ids and the sink's age limit make that harmless.
        self._stamps: dict[str, str] = {}
        self._commands: dict[str, deque[tuple[int, str]]] = {}
        self._sent: dict[int, tuple[str, str]] = {}
        self._ids = itertools.count(1)
        self.results: OrderedDict[int, CommandResult] = OrderedDict()
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

    def _clock(self, request: web.Request) -> AdmsClock | None:
        sn = request.query.get("SN", "")
        clock = self._clocks.get(sn)
        if clock is None:
            self.stats["unknown_sn"] += 1
            # The SN is cut short: a hostile client must not fill the log with it.
            log.warning("adms.unknown_sn", sn=sn[:64], path=request.path, peer=request.remote)
        else:
            self.last_seen[clock.device] = time.monotonic()
        return clock

    @staticmethod
    def _refused() -> web.Response:
        return _plain("ERROR: device not allowed\n", status=403)

    async def _handshake(self, request: web.Request) -> web.Response:
        clock = self._clock(request)
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
        clock = self._clock(request)
        if clock is None:
            return self._refused()
        table = request.query.get("table", "")
        body = await request.read()  # the server's body limit applies here
        if table != "ATTLOG":
            # OPERLOG, ATTPHOTO, USERINFO…: acknowledged so the clock moves on, not kept.
            self.stats["ignored_table"] += 1
            log.debug("adms.table_ignored", device=clock.device, table=table[:32])
            lines = len(_body_text(body).splitlines()) if table == "OPERLOG" else 0
            return _plain("OK: " + str(lines) if lines else "OK")
        return await self._attlog(request, clock, body)

    async def _attlog(self, request: web.Request, clock: AdmsClock, body: bytes) -> web.Response:
        lines, malformed = parse_attlog(_body_text(body), self._zone)
        records: list[AttendanceRecord] = []
        unmapped = 0
        for line in lines:
            direction = self._config.status_map.get(line.status)
            if direction is None:
                unmapped += 1
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
        self.stats["lines"] += len(lines)
        self.stats["malformed"] += malformed
        self.stats["unmapped_status"] += unmapped
        if malformed or unmapped:
            log.warning(
                "adms.lines_skipped", device=clock.device, malformed=malformed, unmapped=unmapped
            )
        report = await self._sink.deliver(records)
        if report.retry:
            # Not "OK": the clock keeps these lines and posts them again after ErrorDelay.
            return _plain("ERROR: hall unavailable\n", status=503)
        stamp = request.query.get("Stamp")
        if stamp and stamp.isdigit():
            self._stamps[clock.sn] = stamp
        return _plain("OK: " + str(len(lines) + malformed))

    async def _getrequest(self, request: web.Request) -> web.Response:
        clock = self._clock(request)
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
        clock = self._clock(request)
        if clock is None:
            return self._refused()
        text = _body_text(await request.read())
        for line in text.splitlines():
            self._command_result(clock, parse_qs(line.strip()))
        return _plain("OK")

    def _command_result(self, clock: AdmsClock, fields: dict[str, list[str]]) -> None:
        raw_id = fields.get("ID", [""])[0]
        sent = self._sent.pop(int(raw_id), None) if raw_id.isdigit() else None
        if sent is None or sent[0] != clock.sn:
            self.stats["unexpected_result"] += 1
            log.warning("adms.unexpected_result", device=clock.device, id=raw_id[:16])
            return
        raw_return = fields.get("Return", [""])[0]
        code = int(raw_return) if re.fullmatch(r"-?\d+", raw_return) else None
        result = CommandResult(int(raw_id), clock.device, code, sent[1])
        self.results[result.command_id] = result
        while len(self.results) > _MAX_RESULTS:
            self.results.popitem(last=False)
        self.stats["command_result"] += 1
        log.info("adms.command_result", device=clock.device, id=raw_id, return_code=code)

    async def _ping(self, request: web.Request) -> web.Response:
        if self._clock(request) is None:
            return self._refused()
        return _plain("OK")
