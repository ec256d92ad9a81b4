"""A scenario from the hall's own journal (`hallctl simulate --history`), read beside the
running daemon that keeps appending to it."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from hallctl.config import HallConfig, parse_config
from hallctl.sim.history import history_scenario
from tests.hall.conftest import SMALL_HALL
from tests.journal_support import a_mark_one_behind
from tests.test_engine import Running

WEDNESDAY = 2  # the engine's clock in tests: Wednesday 2026-11-25, 09:30


@pytest.fixture
def config() -> HallConfig:
    return parse_config(SMALL_HALL)


async def test_the_tickets_of_that_weekday_become_its_arrival_rates(
    config: HallConfig, tmp_path: Path
) -> None:
    async with Running(config, tmp_path / "j.db") as engine:
        for service in ("SB", "SB", "BDC"):
            assert (await engine.execute({"action": "take_ticket", "service": service}))["ok"]
        scenario = history_scenario(config, engine.journal.path, weekday=WEDNESDAY, weeks=1,
                                    today=date(2026, 12, 2))
    rates = {code: [(r.start, r.end, r.per_hour) for r in plan.arrivals]
             for code, plan in scenario.services.items()}
    # one day found, its tickets taken at 09:30: per hour, twice the half hour's count
    assert rates["SB"] == [(time(9, 30), time(10, 0), 4.0)]
    assert rates["BDC"] == [(time(9, 30), time(10, 0), 2.0)]
    assert rates["GJJ"] == rates["ZH"] == []
    with pytest.raises(ValueError, match="no Tuesday"):
        history_scenario(config, tmp_path / "j.db", weekday=1, weeks=1, today=date(2026, 12, 2))


async def test_reading_the_history_leaves_the_high_water_mark_to_the_daemon(
    config: HallConfig, tmp_path: Path
) -> None:
    """Only the appender moves the mark: a check here would write the journal's end as this
    process read it, older than the daemon's mark if the daemon appended meanwhile."""
    async with Running(config, tmp_path / "j.db") as engine:
        hwm = await a_mark_one_behind(engine)
        history_scenario(config, engine.journal.path, weekday=WEDNESDAY, weeks=1,
                         today=date(2026, 12, 2))
        assert int(hwm.read_text()) == engine.last_seq() - 1
