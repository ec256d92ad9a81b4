"""The virtual-time simulator: the real hall core, a day in seconds, checked against Erlang C."""

from __future__ import annotations

import math
import statistics
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hallctl.config import load_config
from hallctl.sim.clock import ScaledClock, VirtualClock
from hallctl.sim.erlang import erlang_c, mean_wait_s, mmc_hall, mmc_scenario, windows_needed
from hallctl.sim.hallday import HallDay
from hallctl.sim.kpi import accuracy, day_kpis, print_kpis
from hallctl.sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
DAYS = ROOT / "bench" / "eta_days"
TZ = ZoneInfo("Asia/Shanghai")


def test_erlang_c_matches_textbook_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = ρ
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1 at ρ = 0.8 with a 5-minute mean: W_q = ρ/(μ − λ) = 20 minutes
    assert mean_wait_s(0.8 / 300, 300, 1) / 60 == pytest.approx(20.0)
    assert math.isinf(mean_wait_s(1 / 300, 300, 1))
    # 10 arrivals an hour, 12-minute services: a = 2, so at least 3 windows
    assert windows_needed(10 / 3600, 720, 900, 0.9) >= 3


def test_the_simulated_mm2_line_waits_as_erlang_c_says() -> None:
    """Steady state of M/M/2 at ρ = 0.5 over ~7,000 tickets: the share who wait at all is
    Erlang C's probability, and the mean wait is W_q, each within its confidence interval."""
    config = mmc_hall(2, 1.0)
    waited, means = [], []
    days = 6
    for seed in range(1, days + 1):
        sc = mmc_scenario(0.5, 2, 1.0, seed=seed, start=time(0, 10), end=time(23, 50))
        day = HallDay(config, sc, estimate=False).run()
        first, last = day.started + 2 * 3600, day.started + 22 * 3600
        waits = [t.wait_min or 0.0 for t in day.tickets if first < t.issued_at < last]
        waited.append(sum(1 for w in waits if w > 0) / len(waits))
        means.append(statistics.fmean(waits))
    for sample, exact in ((waited, erlang_c(2, 1.0)), (means, mean_wait_s(1 / 60, 60, 2) / 60)):
        half = 2.6 * statistics.stdev(sample) / math.sqrt(days)  # 99 % over the days
        assert abs(statistics.fmean(sample) - exact) < half + 0.03 * exact
    assert 2.6 * statistics.stdev(waited) / math.sqrt(days) < 0.2 * erlang_c(2, 1.0)  # has teeth


def test_a_day_is_deterministic_for_a_seed() -> None:
    config = mmc_hall(2, 5.0)
    sc = mmc_scenario(0.8, 2, 5.0, end=time(3, 0), seed=5)
    a = HallDay(config, sc).run()
    b = HallDay(config, sc).run()
    assert [(t.number, t.est_min, t.called_at) for t in a.tickets] == [
        (t.number, t.est_min, t.called_at) for t in b.tickets
    ]
    c = HallDay(config, sc, seed=6).run()
    assert [t.called_at for t in c.tickets] != [t.called_at for t in a.tickets]


def test_a_realistic_day_plays_every_feature_and_reports_its_kpis() -> None:
    config = load_config(DAYS / "city_hall.yaml")
    sc = load_scenario(DAYS / "city_day.yaml")
    day = HallDay(config, sc).run()
    k = day_kpis(day)
    channels = {t.channel for t in day.tickets}
    assert channels == {"normal", "green", "appointment"}
    assert k["no_shows"] > 0 and k["transfers"] > 0 and k["issued"] > 300
    assert k["called"] == k["issued"]  # the line drains by the end of the day
    assert 0 < k["window_utilisation_pct"] < 100
    text = print_kpis(day)
    assert "estimator" in text and "baseline (a)" in text and "oracle (b)" in text
    # the estimator beats "people ahead × configured mean ÷ windows" on this day
    assert accuracy(day.tickets).mae_pct < accuracy(day.tickets, "baseline_min").mae_pct


def test_paused_windows_serve_nobody_during_lunch() -> None:
    config = load_config(DAYS / "city_hall.yaml")
    sc = load_scenario(DAYS / "city_day.yaml")
    h = HallDay(config, sc)
    day = h.run()
    lunch = [
        t
        for t in day.tickets
        if t.called_at is not None
        and time(12, 5) <= datetime.fromtimestamp(t.called_at, TZ).time() < time(12, 55)
    ]
    assert lunch  # others still call
    events_ok = all(w.status == "closed" for w in h.hall.state.windows.values())
    assert events_ok  # the day ends with every window closed, ready for the next


def test_scenarios_name_only_what_the_hall_has() -> None:
    config = mmc_hall(1, 5.0)
    sc = Scenario.model_validate({"services": {"NOPE": {}}})
    with pytest.raises(ValueError, match="NOPE"):
        HallDay(config, sc)


def test_clocks() -> None:
    start = datetime(2026, 3, 2, 8, 30, tzinfo=TZ)
    v = VirtualClock(start)
    v.advance_to(start + timedelta(hours=2))
    assert v() == start + timedelta(hours=2)
    with pytest.raises(ValueError):
        v.advance_to(start)
    scaled = ScaledClock(start, 60.0)  # a hall minute a second
    assert start <= scaled() < start + timedelta(minutes=5)
    with pytest.raises(ValueError):
        ScaledClock(datetime(2026, 3, 2), 2.0)


def test_two_days_in_a_row_carry_the_history() -> None:
    config = mmc_hall(1, 5.0)
    sc = mmc_scenario(0.7, 1, 5.0, end=time(2, 0), seed=3)
    first = HallDay(config, sc)
    first.run()
    seen = first.hall.state.samples_seen
    second = HallDay(config, sc, hall=first.hall, day=date(2026, 3, 9)).run()
    assert second.tickets and first.hall.state.samples_seen > seen
