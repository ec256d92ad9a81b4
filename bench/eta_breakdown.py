"""Where the wait estimate errs on a realistic hall day: per seed, per service and hour, per
place in the line; and what knowing the arrivals would buy (issue 13, docs/eta.md).

    .venv/bin/python bench/eta_breakdown.py district                 # bench seeds 1-8
    .venv/bin/python bench/eta_breakdown.py district --seeds 101-108 # fresh seeds
    .venv/bin/python bench/eta_breakdown.py district --arrivals true # the day's true rates
    .venv/bin/python bench/eta_breakdown.py city --arrivals none --cells

``--arrivals``: ``learned`` (what the hall does: the weekday's profile from its history, else
the last half hour's rate), ``recent`` (the last half hour's rate always: the estimator before
the profile), ``none`` (nobody still to come) or ``true`` (the scenario's own
rates: what a perfect arrival forecast would give). Each seed runs ``--weeks`` weeks of the
same weekday first (history) and scores the last, as bench/eta_accuracy.py does.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hallctl.config import load_config  # noqa: E402
from hallctl.config.models import HallConfig  # noqa: E402
from hallctl.hall.core import Hall  # noqa: E402
from hallctl.hall.eta import arrival_rates  # noqa: E402
from hallctl.sim.hallday import HallDay, TicketRecord  # noqa: E402
from hallctl.sim.kpi import accuracy  # noqa: E402
from hallctl.sim.scenario import Scenario, load_scenario  # noqa: E402

DAYS = ROOT / "bench" / "eta_days"
Segments = dict[tuple[str, str], list[tuple[float, float]]]


def true_arrivals(config: HallConfig, sc: Scenario) -> Callable[[float], Segments]:
    """The scenario's own rates per service and channel from ``at`` on."""
    tz = config.hall.tz

    def expected(at: float) -> Segments:
        day = datetime.fromtimestamp(at, tz).date()
        out: Segments = {}
        for code, plan in sc.services.items():
            normal = 1 - plan.green_share - plan.appointment_share
            shares = {"green": plan.green_share, "appointment": plan.appointment_share}
            for channel, share in {**shares, "normal": normal}.items():
                segments: list[tuple[float, float]] = []
                for r in sorted(plan.arrivals, key=lambda r: r.start):
                    start = datetime.combine(day, r.start, tzinfo=tz).timestamp()
                    end = datetime.combine(day, r.end, tzinfo=tz).timestamp()
                    if end <= at or share <= 0:
                        continue
                    if start > at and (not segments or segments[-1][0] < start):
                        segments.append((start, 0.0))
                    segments.append((end, r.per_hour / 3600 * share))
                if segments:
                    out[(code, channel)] = segments
        return out

    return expected


def scored_day(
    config: HallConfig, sc: Scenario, seed: int, weeks: int, arrivals: str
) -> list[TicketRecord]:
    hall: Hall | None = None
    scored = date.fromisoformat(sc.date) + timedelta(weeks=1)
    for week in range(weeks, 0, -1):
        past = HallDay(
            config, sc, seed=1000 * week + seed, hall=hall, day=scored - timedelta(weeks=week)
        )
        past.run()
        hall = past.hall
    assert hall is not None
    if arrivals == "none":
        hall.eta.expected_arrivals = lambda at: {}  # type: ignore[method-assign]
    elif arrivals == "true":
        hall.eta.expected_arrivals = true_arrivals(config, sc)  # type: ignore[method-assign]
    elif arrivals == "recent":
        state = hall.state

        def recent(at: float) -> Segments:
            return {k: [(math.inf, r)] for k, r in arrival_rates(state, at).items() if r > 0}

        hall.eta.expected_arrivals = recent  # type: ignore[method-assign]
    return HallDay(config, sc, seed=seed, hall=hall, day=scored).run().tickets


def line(name: str, tickets: list[TicketRecord]) -> None:
    e, a = accuracy(tickets, "est_min"), accuracy(tickets, "baseline_min")
    print(
        f"{name:<12}{e.n:>6}{e.mean_wait_min:>7.1f}{e.mae_pct:>7.1f}{e.bias_pct:>7.1f}"
        f"{a.mae_pct:>7.1f}{1 - e.mae_pct / a.mae_pct:>8.0%}"
    )


def cells(tickets: list[TicketRecord], tz: object) -> None:
    groups: dict[tuple[str, str], list[TicketRecord]] = defaultdict(list)
    for t in tickets:
        if t.wait_min is None:
            continue
        hour = f"{datetime.fromtimestamp(t.issued_at, tz).hour:02d}h"  # type: ignore[arg-type]
        for key in ((t.service, hour), ("*", hour), (t.service, f"a{min(t.ahead, 8)}")):
            groups[key].append(t)
    print("\nservice  cell     n   wait  error |error| (a)|error|   minutes, mean over tickets")
    for (service, cell), ts in sorted(groups.items()):
        wait = statistics.fmean(t.wait_min or 0.0 for t in ts)
        err = statistics.fmean(t.est_min - (t.wait_min or 0.0) for t in ts)
        ae = statistics.fmean(abs(t.est_min - (t.wait_min or 0.0)) for t in ts)
        ab = statistics.fmean(abs(t.baseline_min - (t.wait_min or 0.0)) for t in ts)
        print(f"{service:<8}{cell:>5}{len(ts):>6}{wait:>7.1f}{err:>7.1f}{ae:>8.1f}{ab:>11.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hall", choices=["city", "district"])
    ap.add_argument("--seeds", default="1-8", help="a range, e.g. 1-8 or 101-108")
    ap.add_argument("--weeks", type=int, default=4, help="weeks of history before the day")
    ap.add_argument("--arrivals", choices=["learned", "recent", "none", "true"], default="learned")
    ap.add_argument("--cells", action="store_true", help="per service × hour and × place")
    args = ap.parse_args()
    lo, _, hi = args.seeds.partition("-")
    config = load_config(DAYS / f"{args.hall}_hall.yaml")
    sc = load_scenario(DAYS / f"{args.hall}_day.yaml")
    print(f"{sc.name}; arrivals still to come: {args.arrivals}; {args.weeks} week(s) of history")
    print(f"{'seed':<12}{'n':>6}{'wait':>7}{'MAE%':>7}{'bias%':>7}{'a MAE':>7}{'< a by':>8}")
    everything: list[TicketRecord] = []
    for seed in range(int(lo), int(hi or lo) + 1):
        tickets = scored_day(config, sc, seed, args.weeks, args.arrivals)
        line(f"#{seed}", tickets)
        everything += tickets
    line("all", everything)
    if args.cells:
        cells(everything, config.hall.tz)


if __name__ == "__main__":
    main()
