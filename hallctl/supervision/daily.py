"""The daily report writer: a component that, after closing time, writes the day's report into
``<data_dir>/reports`` and journals a ``report.daily`` event with the headline KPIs, so every
back end gets the same figures as the supervision office.

Time comes from the engine's clock (the demo's virtual clock works as well as the wall clock).
A restart after closing time writes the files again (same names, atomically) and asks for the
event with the same request id, so the back end receives it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from hallctl.components import Component, Needs

if TYPE_CHECKING:  # numpy and the report code load only in the process that writes a report
    from hallctl.config.models import HallConfig
    from hallctl.engine import HallEngine
    from hallctl.supervision.report import Report

log = structlog.get_logger("hallctl.reports")

# the figures the report.daily event carries (KPI keys of docs/reports.md)
SUMMARY_KPIS = ("issued", "served", "no_show", "open", "wait_mean", "wait_p90",
                "wait_within_target", "service_mean", "service_over_limit", "on_spot_rate",
                "eval_rate", "satisfaction", "bad_reviews", "cases", "alarms")  # fmt: skip
POLL_S = 30.0
DEFAULT_CLOSE = time(18, 0)


def summary(report: Report) -> dict[str, float | int | None]:
    row = report.table("summary").rows[0]
    out: dict[str, float | int | None] = {}
    for key in SUMMARY_KPIS:
        v = row.get(key)
        out[key] = round(v, 4) if isinstance(v, float) else v
    return out


def write_time(config: HallConfig) -> time:
    after = config.supervision.reports.after
    if after is not None:
        return after
    ends = [r.end for r in config.hall.hours]
    close = max(ends) if ends else DEFAULT_CLOSE
    moment = datetime.combine(date(2000, 1, 1), close) + timedelta(minutes=30)
    return min(moment, datetime.combine(date(2000, 1, 1), time(23, 59))).time()


class DailyReports:
    name = "reports"

    def __init__(
        self,
        config: HallConfig,
        engine: HallEngine,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.engine = engine
        self.sleep = sleep
        self.out_dir = config.data_dir / "reports"
        self.at = write_time(config)
        self.written: set[date] = set()

    def needs(self) -> Needs:
        return Needs()

    async def run(self) -> None:
        while True:
            local = self.engine.now().astimezone(self.config.hall.tz)
            day = local.date()
            if local.time() >= self.at and day not in self.written:
                try:
                    await self.write(day)
                except Exception as e:  # a report must never take the hall down
                    log.warning("reports.failed", day=day.isoformat(), error=str(e))
                self.written.add(day)  # tried: the next chance is tomorrow (or `hallctl report`)
            await self.sleep(POLL_S)

    async def write(self, day: date, announce: bool = True) -> list[Path]:
        """Write the day's report files and (``announce``) journal the ``report.daily`` event."""
        from hallctl.supervision.report_process import write_day

        formats = self.config.supervision.reports.formats
        written = await write_day(self.config, day, formats, self.out_dir)  # numpy & co. there
        paths = written.paths
        if not announce:
            return paths
        response = await self.engine.execute(
            {
                "action": "record_report",
                "request_id": f"report.daily:{self.config.hall.id}:{day.isoformat()}",
                "source": "reports",
                "day": day.isoformat(),
                "summary": written.summary,
                "files": [p.name for p in paths],
            }
        )
        if not response["ok"]:
            log.warning("reports.event_refused", error=response["error"])
        log.info("reports.written", day=day.isoformat(), files=[str(p) for p in paths])
        return paths


def reports(config: HallConfig, engine: HallEngine) -> Component | None:
    return DailyReports(config, engine) if config.supervision.reports.daily else None
