"""``hallctl plan``: windows to open per service per half hour (Erlang C, checked by simulation)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from hallctl.cli_simulate import add_profile_options, scenario_from_args


def register(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    with_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    sp = sub.add_parser(
        "plan", help="staffing: windows per service per half hour for a target wait"
    )
    with_config(sp)
    add_profile_options(
        sp,
        scenario="arrival profile as a scenario YAML",
        history="arrival profile from the journal: this weekday of the last --weeks",
        load="without a profile: see simulate",
    )
    sp.add_argument(
        "--share",
        type=float,
        default=0.9,
        help="share of citizens who should wait at most the service's target_wait_min",
    )
    sp.add_argument("--rounds", type=int, default=3, help="simulator correction rounds")
    sp.add_argument("--seeds", type=int, default=3, help="simulated days per round")
    sp.add_argument("--json", action="store_true", help="the plan as JSON")
    sp.add_argument(
        "--chart",
        type=Path,
        metavar="FILE",
        help="also draw the plan as a chart: a .png or .svg file (needs hallctl[reports])",
    )
    sp.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hallctl.cli import default_config
    from hallctl.config import ConfigError, load_config
    from hallctl.sim.plan import plan, render

    if not 0 < args.share < 1:
        print("hallctl plan: --share must be between 0 and 1", file=sys.stderr)
        return 1
    try:
        if args.chart is not None:
            from hallctl.sim.plan_chart import check_path

            check_path(args.chart)  # before the simulations, not after
        config = load_config(args.config or default_config())
        scenario = scenario_from_args(config, args)
        result = plan(config, scenario, share=args.share, rounds=args.rounds, seeds=args.seeds)
        if args.chart is not None:
            from hallctl.sim.plan_chart import write

            write(result, config, args.share, args.chart)
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
