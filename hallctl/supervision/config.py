"""The ``supervision:`` section of the hall file: norms, 差评 follow-up, the working-day calendar.

One field in HallConfig. The hall core reads it (norms and cases are checked there); the
report writer reads ``reports``.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DAY_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _days(values: list[Any]) -> frozenset[date]:
    """``2026-02-16`` or ``2026-02-15..2026-02-23`` (both ends included)."""
    out: set[date] = set()
    for v in values:
        if isinstance(v, date):
            out.add(v)
            continue
        m = _DAY_RANGE.match(str(v).strip())
        if not m:
            raise ValueError(f"expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, got {v!r}")
        try:
            first = date.fromisoformat(m.group(1))
            last = date.fromisoformat(m.group(2)) if m.group(2) else first
        except ValueError as e:
            raise ValueError(f"{v!r}: {e}") from None
        if last < first:
            raise ValueError(f"range ends before it starts: {v!r}")
        if (last - first).days > 366:
            raise ValueError(f"range longer than a year: {v!r}")
        out.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return frozenset(out)


class CalendarConfig(_Strict):
    """Working days: Monday–Friday, minus ``holidays``, plus ``workdays`` (调休 weekends)."""

    holidays: frozenset[date] = Field(
        default_factory=frozenset,
        description="public holidays: dates or ranges '2026-02-15..2026-02-23'",
    )
    workdays: frozenset[date] = Field(
        default_factory=frozenset, description="adjusted working days (调休), usually weekends"
    )

    @field_validator("holidays", "workdays", mode="before")
    @classmethod
    def _parse(cls, v: Any) -> frozenset[date]:
        if isinstance(v, (set, frozenset)):
            return frozenset(v)
        if not isinstance(v, list):
            raise ValueError("expected a list of dates")
        return _days(v)


class ServiceNorms(_Strict):
    service_limit_min: float | None = Field(None, gt=0, description="办理超时 for this service")
    line_limit: int | None = Field(None, ge=1, description="most people waiting in its line")


class GamingNorm(_Strict):
    """刷号: a window dropping called tickets as no-shows within seconds, again and again."""

    no_shows: int = Field(3, ge=2, description="this many quick no-shows …")
    within_s: int = Field(20, ge=1, description="… each within this many seconds of its call …")
    span_min: int = Field(10, ge=1, description="… inside this many minutes raise an alarm")


class NormsConfig(_Strict):
    """Hall defaults; ``services`` overrides per service code."""

    service_limit_min: float | None = Field(
        30, gt=0, description="a ticket at a window longer than this: 办理超时; null = off"
    )
    line_limit: int | None = Field(None, ge=1, description="people waiting per line; null = off")
    idle_with_waiting_min: float | None = Field(
        5, gt=0, description="open window with nobody at it while its services have people waiting"
    )
    pause_limit_min: float | None = Field(30, gt=0, description="暂停 longer than this")
    gaming: GamingNorm | None = GamingNorm()
    outside_hours: bool = Field(True, description="alarm when a window serves outside hall hours")
    services: dict[str, ServiceNorms] = Field(default_factory=dict)

    def service_limit(self, code: str) -> float | None:
        own = self.services.get(code)
        if own is not None and own.service_limit_min is not None:
            return own.service_limit_min
        return self.service_limit_min

    def line_limit_for(self, code: str) -> int | None:
        own = self.services.get(code)
        if own is not None and own.line_limit is not None:
            return own.line_limit
        return self.line_limit


class FollowUpConfig(_Strict):
    """差评整改: every bad review opens a case to follow up (回访) and close with a note."""

    enabled: bool = True
    working_days: int = Field(15, ge=1, le=60, description="national 好差评 rule: 15 working days")


class ReportsConfig(_Strict):
    daily: bool = Field(True, description="write the day's report into <data_dir>/reports")
    after: time | None = Field(
        None, description="local time to write it; default 30 minutes after the hall closes"
    )
    formats: list[str] = Field(default_factory=lambda: ["html", "xlsx", "csv"])

    @field_validator("formats")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - {"text", "csv", "xlsx", "html", "pdf"})
        if bad:
            raise ValueError(f"unknown report formats: {', '.join(bad)}")
        return v


class SupervisionConfig(_Strict):
    norms: NormsConfig = NormsConfig()
    follow_up: FollowUpConfig = FollowUpConfig()
    calendar: CalendarConfig = CalendarConfig()
    reports: ReportsConfig = ReportsConfig()
