"""``hallctl plan``: windows to open per service per half hour (Erlang C, checked by simulation)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from hallctl.cli_simulate import WEEKDAYS


def register(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    with_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    sp = sub.add_parser(
        "plan", help="staffing: windows per service per half hour for a target wait"
    )
    with_config(sp)
    src = sp.add_mutually_exclusive_group()
    src.add_argument("--scenario", type=Path, help="arrival profile as a scenario YAML")
    src.add_argument(
        "--history",
        choices=sorted(WEEKDAYS, key=WEEKDAYS.__getitem__),
        help="arrival profile from the journal: this weekday of the last --weeks",
    )
    sp.add_argument("--weeks", type=int, default=4, help="weeks of history (default 4)")
    sp.add_argument("--load", type=float, default=0.85, help="without a profile: see simulate")
    sp.add_argument(
        "--share",
        type=float,
        default=0.9,
        help="share of citizens who should wait at most the service's target_wait_min",
    )
    sp.add_argument("--rounds", type=int, default=3, help="simulator correction rounds")
    sp.add_argument("--seeds", type=int, default=3, help="simulated days per round")
    sp.add_argument("--json", action="store_true", help="the plan as JSON")
    sp.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hallctl.cli import default_config
    from hallctl.config import ConfigError, load_config
    from hallctl.sim.history import history_scenario
    from hallctl.sim.plan import plan, render
    from hallctl.sim.scenario import from_hall, load_scenario

    if not 0 < args.share < 1:
        print("hallctl plan: --share must be between 0 and 1", file=sys.stderr)
        return 1
    try:
        config = load_config(args.config or default_config())
        if args.scenario:
            scenario = load_scenario(args.scenario)
        elif args.history:
            scenario = history_scenario(
                config,
                config.data_dir / "journal.db",
                weekday=WEEKDAYS[args.history],
                weeks=args.weeks,
                today=date.today(),
            )
        else:
            scenario = from_hall(config, args.load)
        result = plan(config, scenario, share=args.share, rounds=args.rounds, seeds=args.seeds)
    except (ConfigError, ValueError, OSError) as e:
        print(f"hallctl plan: {e}", file=sys.stderr)
        return 1
    if args.json:
        out = {
            "slots": [t.strftime("%H:%M") for t in result.slots],
            "erlang": result.erlang,
            "windows": result.final,
            "share_within_target": result.met,
            "rounds": result.rounds,
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(render(result, config, args.share))
    return 0
