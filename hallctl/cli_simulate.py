"""``hallctl simulate``: a hall day (or several) in virtual time, its KPIs and estimate accuracy."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig
    from hallctl.sim.scenario import Scenario

WEEKDAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}


def register(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    with_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    sp = sub.add_parser(
        "simulate", help="a hall day in virtual time: KPIs and how good the wait estimates were"
    )
    with_config(sp)
    add_profile_options(
        sp,
        scenario="scenario YAML (docs/eta.md)",
        history="arrivals and service times from the journal: this weekday of the last --weeks",
        load="without a scenario: arrivals as a share of what the windows can serve (default 0.85)",
    )
    sp.add_argument("--days", type=int, default=1, help="independent days (seeds) to run")
    sp.add_argument("--seed", type=int, default=None, help="first seed (default: the scenario's)")
    sp.add_argument("--no-estimates", action="store_true", help="skip the estimator (faster)")
    sp.add_argument("--json", action="store_true", help="KPIs and accuracy as JSON")
    sp.set_defaults(handler=run)


def add_profile_options(
    sp: argparse.ArgumentParser, *, scenario: str, history: str, load: str
) -> None:
    """Where a day's arrivals come from: a scenario file, the journal's history, or a load."""
    src = sp.add_mutually_exclusive_group()
    src.add_argument("--scenario", type=Path, help=scenario)
    src.add_argument(
        "--history", choices=sorted(WEEKDAYS, key=WEEKDAYS.__getitem__), help=history
    )
    sp.add_argument("--weeks", type=int, default=4, help="weeks of history (default 4)")
    sp.add_argument("--load", type=float, default=0.85, help=load)


def scenario_from_args(config: HallConfig, args: argparse.Namespace) -> Scenario:
    """The scenario the options of `add_profile_options` name."""
    from hallctl.sim.history import history_scenario
    from hallctl.sim.scenario import from_hall, load_scenario

    if args.scenario:
        return load_scenario(args.scenario)
    if args.history:
        return history_scenario(
            config,
            config.data_dir / "journal.db",
            weekday=WEEKDAYS[args.history],
            weeks=args.weeks,
            today=date.today(),
        )
    return from_hall(config, args.load)


def run(args: argparse.Namespace) -> int:
    from hallctl.cli import default_config
    from hallctl.config import ConfigError, load_config
    from hallctl.sim.hallday import HallDay
    from hallctl.sim.kpi import ESTIMATES, accuracy, day_kpis, print_kpis

    try:
        config = load_config(args.config or default_config())
        scenario = scenario_from_args(config, args)
        scenario.check(config)
    except (ConfigError, ValueError, OSError) as e:
        print(f"hallctl simulate: {e}", file=sys.stderr)
        return 1
    base_seed = scenario.seed if args.seed is None else args.seed
    reports = []
    for i in range(args.days):
        day = HallDay(config, scenario, estimate=not args.no_estimates, seed=base_seed + i).run()
        if args.json:
            reports.append(
                {
                    "seed": base_seed + i,
                    "kpis": day_kpis(day),
                    "accuracy": {
                        name: asdict(accuracy(day.tickets, attr))
                        for name, attr in ESTIMATES.items()
                    },
                }
            )
        else:
            print(f"--- seed {base_seed + i}")
            print(print_kpis(day, estimates=not args.no_estimates))
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    return 0
