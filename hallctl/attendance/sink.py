"""Attendance records → hall requests (`staff_check_in` / `staff_check_out`).

Sources (ADMS, ISAPI, MQTT) parse; this module decides what reaches the hall:
- the clock's staff id must map to a hall staff id (`StaffDirectory`), else counted and skipped;
- punches far in the past (a clock replaying its whole log) or future (a clock with a wrong
  date) are counted and skipped, so they cannot flip who is on duty now;
- a punch seen in the recent window is not sent again; the request_id covers the rest.

What goes to the hall is ids and a time only: never a name, a picture or the raw payload.

`deliver` reports `failed` when the hall could not be reached (exception or time-out); sources
then answer the clock with an error so that the clock keeps the punch and sends it again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from hallctl.attendance.records import AttendanceRecord, RecentKeys

log = structlog.get_logger(__name__)


class ExecutePort(Protocol):
    """The part of HallPort the sink needs; HallEngine satisfies it."""

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]: ...


class StaffDirectory:
    """Clock staff ids (ZKTeco PIN, Hikvision employeeNo) → hall staff ids."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        # Clocks pad or strip leading zeros depending on firmware ("0105" vs "105"); both
        # spellings of a configured id resolve, as long as that is unambiguous.
        self._exact = dict(mapping)
        stripped: dict[str, str | None] = {}
        for external, staff in mapping.items():
            key = external.lstrip("0") or "0"
            stripped[key] = staff if stripped.get(key, staff) == staff else None
        self._stripped = stripped

    def __len__(self) -> int:
        return len(self._exact)

    def lookup(self, external_id: str) -> str | None:
        found = self._exact.get(external_id)
        if found is not None:
            return found
        return self._stripped.get(external_id.lstrip("0") or "0")


@dataclass(slots=True)
class DeliveryReport:
    recorded: int = 0  # the hall answered ok (a repeat of an earlier request also answers ok)
    duplicate: int = 0  # dropped: seen in the recent window
    unknown_staff: int = 0
    out_of_range: int = 0  # too old or in the future
    rejected: int = 0  # the hall answered ok: false; sending again would not help
    failed: int = 0  # the hall was unreachable; the clock should send again

    @property
    def retry(self) -> bool:
        return self.failed > 0


def build_request(record: AttendanceRecord, staff: str) -> dict[str, Any]:
    action = "staff_check_in" if record.direction == "in" else "staff_check_out"
    return {
        "action": action,
        "staff": staff,
        "device": record.device,
        "time": record.time.isoformat(),
        "request_id": record.request_id,
    }


class AttendanceSink:
    def __init__(
        self,
        port: ExecutePort,
        directory: StaffDirectory,
        *,
        dedup_window_s: float = 600,
        max_age: timedelta = timedelta(hours=24),
        max_future: timedelta = timedelta(minutes=5),
        execute_timeout_s: float = 10,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._port = port
        self._directory = directory
        self._recent = RecentKeys(dedup_window_s, clock=monotonic)
        self._max_age = max_age
        self._max_future = max_future
        self._timeout = execute_timeout_s
        self._now = now
        self.stats: Counter[str] = Counter()

    async def deliver(self, records: Iterable[AttendanceRecord]) -> DeliveryReport:
        report = DeliveryReport()
        pending = list(records)
        for index, record in enumerate(pending):
            outcome = await self._deliver_one(record)
            setattr(report, outcome, getattr(report, outcome) + 1)
            self.stats[outcome] += 1
            if outcome == "failed":
                # The hall is down: the rest would wait out the same time-out one by one.
                rest = len(pending) - index - 1
                report.failed += rest
                self.stats["failed"] += rest
                break
        return report

    async def device_status(self, device: str, *, online: bool, detail: str | None) -> bool:
        """Tell the hall a clock is there (with what it says about itself); True if taken."""
        request = {"action": "device_status", "device": device, "online": online,
                   "detail": detail, "source": device}
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._port.execute(request)
        except Exception as exc:  # informational: never the HTTP handler's trouble
            log.warning("attendance.device_status_failed", device=device,
                        error=type(exc).__name__)
            return False
        if answer.get("ok") is not True:
            log.info("attendance.device_status_refused", device=device, error=answer.get("error"))
            return False
        return True

    async def _deliver_one(self, record: AttendanceRecord) -> str:
        request_id = record.request_id
        if request_id in self._recent:
            return "duplicate"
        now = self._now()
        if record.time < now - self._max_age or record.time > now + self._max_future:
            log.warning(
                "attendance.out_of_range",
                device=record.device,
                staff_external_id=record.staff_external_id,
                time=record.time.isoformat(),
            )
            self._recent.add(request_id)
            return "out_of_range"
        staff = self._directory.lookup(record.staff_external_id)
        if staff is None:
            log.warning(
                "attendance.unknown_staff",
                device=record.device,
                source=record.source,
                staff_external_id=record.staff_external_id,
            )
            self._recent.add(request_id)
            return "unknown_staff"
        request = build_request(record, staff)
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._port.execute(request)
        except Exception as exc:  # the hall's trouble must not become the HTTP handler's
            log.warning(
                "attendance.hall_unreachable",
                request_id=request_id,
                error=type(exc).__name__,
                detail=str(exc),
            )
            return "failed"
        self._recent.add(request_id)
        if answer.get("ok") is True:
            log.info(
                "attendance.recorded",
                action=request["action"],
                staff=staff,
                device=record.device,
                time=request["time"],
            )
            return "recorded"
        log.warning("attendance.rejected", request_id=request_id, error=answer.get("error"))
        return "rejected"
