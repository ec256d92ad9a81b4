"""The daemon's report writer: after closing time, the day's files and one report.daily event."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.supervision.daily import DailyReports, write_time
from tests.hall.conftest import SMALL_HALL, TZ


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.now


def config_in(tmp_path: Path, extra: str = "") -> HallConfig:
    return parse_config(
        SMALL_HALL.replace(
            "timezone: Asia/Shanghai}", 'timezone: Asia/Shanghai, hours: ["08:30-17:00"]}'
        )
        + f"data_dir: {tmp_path}\nsupervision: {{reports: {{formats: [csv, xlsx]}}}}\n"
        + extra
    )  # fmt: skip


def test_the_report_is_written_half_an_hour_after_closing(tmp_path: Path) -> None:
    assert write_time(config_in(tmp_path)).isoformat() == "17:30:00"
    assert write_time(parse_config(SMALL_HALL)).isoformat() == "18:30:00"  # no hours: 18:00
    chosen = config_in(tmp_path, "").model_copy()
    assert write_time(chosen).isoformat() == "17:30:00"


async def test_after_closing_the_day_is_written_and_announced_once(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    clock = Clock()
    journal = Journal(tmp_path / "journal.db")
    engine = HallEngine(config, journal, secret=b"k" * 32, clock=clock)
    engine.recover()
    writer = asyncio.create_task(engine.run())
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        await asyncio.sleep(0.01)

    try:
        for request in (
            {"action": "open_window", "window": 1},
            {"action": "take_ticket", "service": "BDC"},
            {"action": "call_next", "window": 1},
        ):
            assert (await engine.execute(request))["ok"]
        clock.now = datetime(2026, 11, 25, 9, 12, tzinfo=TZ)
        assert (await engine.execute({"action": "finish", "window": 1}))["ok"]
        clock.now = datetime(2026, 11, 25, 17, 29, tzinfo=TZ)
        reports = DailyReports(config, engine, sleep=nap)
        task = asyncio.create_task(reports.run())
        await asyncio.sleep(0.1)
        assert not (tmp_path / "reports").exists()  # not before 17:30
        clock.now = datetime(2026, 11, 25, 17, 31, tzinfo=TZ)
        events = await _wait_for_report(journal)
        await asyncio.sleep(0.1)
        task.cancel()
        files = sorted(p.name for p in (tmp_path / "reports").iterdir())
        assert files == ["test-hall-day-2026-11-25.csv", "test-hall-day-2026-11-25.xlsx"]
        assert len(events) == 1  # once, though the writer kept polling
        data = events[0]
        assert data["day"] == "2026-11-25" and data["files"] == files
        assert (data["issued"], data["served"], data["wait_mean"]) == (1, 1, 0.0)
        # a restart after closing writes the files again but the event is not repeated
        again = DailyReports(config, engine, sleep=nap)
        await again.write(datetime(2026, 11, 25).date())
        assert len(_report_events(journal)) == 1
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()


async def _wait_for_report(journal: Journal) -> list[dict[str, Any]]:
    for _ in range(500):
        events = _report_events(journal)
        if events:
            return events
        await asyncio.sleep(0.02)
    raise AssertionError("no report.daily event")


def _report_events(journal: Journal) -> list[dict[str, Any]]:
    return [json.loads(r.data) for r in journal.replay() if r.type == "report.daily"]
