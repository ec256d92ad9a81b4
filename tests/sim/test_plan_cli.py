"""``hallctl simulate`` and ``hallctl plan`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hallctl.cli import main
from hallctl.config import load_config
from hallctl.sim.plan import assign, erlang_plan
from hallctl.sim.scenario import load_scenario

DAYS = Path(__file__).resolve().parents[2] / "bench" / "eta_days"


def test_simulate_prints_kpis_and_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            "-c",
            str(DAYS / "district_hall.yaml"),
            "--scenario",
            str(DAYS / "district_day.yaml"),
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)[0]
    assert report["kpis"]["issued"] > 100
    assert set(report["accuracy"]) == {"estimator", "baseline (a)", "oracle (b)", "old"}
    assert report["accuracy"]["estimator"]["n"] == report["kpis"]["called"]


def test_simulate_refuses_a_scenario_that_does_not_fit_the_hall(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("services: {XX: {}}\n", encoding="utf-8")
    code = main(["simulate", "-c", str(DAYS / "district_hall.yaml"), "--scenario", str(bad)])
    assert code == 1
    assert "XX" in capsys.readouterr().err


def test_erlang_first_answer_grows_with_the_arrivals() -> None:
    config = load_config(DAYS / "district_hall.yaml")
    sc = load_scenario(DAYS / "district_day.yaml")
    plan = erlang_plan(config, sc, 0.9)
    yl = plan["YL"]  # pension certification: a strong 09:00-10:30 peak
    assert yl[0] > yl[-1] >= 1
    # windows are handed out once per half hour, level-1 windows first
    open_sets = assign(config, plan, len(yl))
    assert all(len(s) <= len(config.windows) for s in open_sets)


def test_plan_prints_a_table_checked_by_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "plan",
            "-c",
            str(DAYS / "district_hall.yaml"),
            "--scenario",
            str(DAYS / "district_day.yaml"),
            "--rounds",
            "1",
            "--seeds",
            "1",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["slots"][0] == "09:00" and len(out["slots"]) == 16
    for code_ in ("HJ", "YL", "SW"):
        assert len(out["windows"][code_]) == 16
        # the simulator only ever adds windows to Erlang C's first answer
        assert all(f >= e for f, e in zip(out["windows"][code_], out["erlang"][code_], strict=True))
        assert any(m is not None for m in out["share_within_target"][code_])
    assert main(["plan", "-c", str(DAYS / "district_hall.yaml"), "--share", "2"]) == 1
