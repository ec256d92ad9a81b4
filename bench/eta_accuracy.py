"""Wait-estimate accuracy (issue 13), and the simulator against Erlang C.

    .venv/bin/python bench/eta_accuracy.py                 # everything (several minutes)
    .venv/bin/python bench/eta_accuracy.py --only mmc      # M/M/c accuracy table
    .venv/bin/python bench/eta_accuracy.py --only days     # the two realistic hall days
    .venv/bin/python bench/eta_accuracy.py --only erlang   # simulator vs Erlang C, ≥ 60,000 tickets

Every row compares, on the same tickets of the same run, the estimator (what the ticket said)
with (a) people ahead × configured mean ÷ windows serving and (b) an oracle that knows the true
mean service time: (n − c + 1) × S ÷ c when all c windows are busy (n = in service + ahead),
else 0. MAE is the mean absolute error as % of the mean wait; bias is mean(estimate − actual).
Each M/M/c line first runs a two-hour day that is not scored, and the realistic days run each
hall on the same weekday of ``--weeks`` weeks before the scored day, so the estimator has the
history a hall in service has (service times, the weekday's arrival profile).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hallctl.config import load_config  # noqa: E402
from hallctl.sim.erlang import mean_wait_s, mmc_hall, mmc_scenario  # noqa: E402
from hallctl.sim.hallday import HallDay, TicketRecord  # noqa: E402
from hallctl.sim.kpi import Accuracy, accuracy  # noqa: E402
from hallctl.sim.scenario import load_scenario  # noqa: E402

DAYS = ROOT / "bench" / "eta_days"
MEAN_MIN = 5.0


def row(name: str, tickets: list[TicketRecord]) -> tuple[Accuracy, Accuracy, Accuracy]:
    est, base, oracle = (accuracy(tickets, a) for a in ("est_min", "baseline_min", "oracle_min"))
    print(
        f"{name:<26}{est.n:>6}{est.mean_wait_min:>7.1f}"
        f"{est.mae_pct:>7.1f}{est.bias_pct:>7.1f}{est.p90_abs_min:>6.1f}"
        f"{base.mae_pct:>7.1f}{base.bias_pct:>7.1f}"
        f"{oracle.mae_pct:>7.1f}{oracle.bias_pct:>7.1f}"
        f"{est.mae_pct / oracle.mae_pct if oracle.mae_pct else math.nan:>8.2f}"
        f"{1 - est.mae_pct / base.mae_pct if base.mae_pct else math.nan:>8.0%}",
        flush=True,
    )
    return est, base, oracle


def header() -> None:
    print(
        f"{'scenario':<26}{'n':>6}{'wait':>7}{'MAE%':>7}{'bias%':>7}{'p90':>6}"
        f"{'a MAE':>7}{'a bias':>7}{'b MAE':>7}{'b bias':>7}{'÷ b':>8}{'< a by':>8}"
    )


def mmc(tickets_each: int) -> None:
    print(f"\nM/M/c, exponential service, mean {MEAN_MIN} min, ~{tickets_each} tickets each")
    header()
    for c in (1, 4, 12):
        for rho in (0.5, 0.8, 0.9, 0.95):
            per_hour = rho * c * 60 / MEAN_MIN
            hours = max(1.0, tickets_each / per_hour)
            tickets: list[TicketRecord] = []
            config = mmc_hall(c, MEAN_MIN)
            # a hall in service has history: a two-hour day first, not scored
            warm_up = HallDay(config, mmc_scenario(rho, c, MEAN_MIN, end=clock(2, 30), seed=99))
            warm_up.run()
            seed = 1
            while len(tickets) < tickets_each:
                end_h = 0.5 + min(hours, 20.0)
                end = clock(int(end_h), int((end_h % 1) * 60))
                sc = mmc_scenario(rho, c, MEAN_MIN, end=end, seed=seed)
                when = date.fromisoformat(sc.date) + timedelta(days=seed)
                tickets += HallDay(config, sc, hall=warm_up.hall, day=when).run().tickets
                seed += 1
            row(f"M/M/{c} ρ={rho}", tickets)


FRESH = 100  # fresh seeds: 101, 102, …, never looked at while the estimator was built


def days(seeds: int, weeks: int) -> None:
    print(
        f"\nrealistic hall days ({weeks} week(s) of history: the same weekday, scored on the "
        f"last; bench seeds 1–{seeds}, fresh seeds {FRESH + 1}–{FRESH + seeds})"
    )
    header()
    for name in ("city", "district"):
        config = load_config(DAYS / f"{name}_hall.yaml")
        sc = load_scenario(DAYS / f"{name}_day.yaml")
        groups = {"bench": range(1, seeds + 1), "fresh": range(FRESH + 1, FRESH + seeds + 1)}
        results = {}
        for group, seed_list in groups.items():
            group_tickets: list[TicketRecord] = []
            for seed in seed_list:
                hall = None
                for week in range(weeks, 0, -1):  # the history: earlier weeks, not scored
                    past = HallDay(
                        config,
                        sc,
                        seed=1000 * week + seed,
                        hall=hall,
                        day=date.fromisoformat(sc.date) + timedelta(weeks=1 - week),
                    )
                    past.run()
                    hall = past.hall
                scored = HallDay(
                    config,
                    sc,
                    seed=seed,
                    hall=hall,
                    day=date.fromisoformat(sc.date) + timedelta(weeks=1),
                ).run()
                row(f"{sc.name} #{seed}", scored.tickets)
                group_tickets += scored.tickets
            results[group] = row(f"{sc.name}, {group} seeds", group_tickets)
        for group, (est, base, _) in results.items():
            lower = 1 - est.mae_pct / base.mae_pct
            verdict = "pass" if lower >= 0.30 and abs(est.bias_pct) <= 10 else "FAIL"
            print(
                f"  floor ({group} seeds): MAE {lower:.0%} lower than (a) (≥ 30 %), bias "
                f"{est.bias_pct:+.1f} % (within ±10 %): {verdict}"
            )


def erlang(total: int) -> None:
    print(f"\nsimulator vs Erlang C, ≥ {total:,} tickets per line (steady state: tickets issued")
    print("between 4 h after opening and 1.5 h before the last arrival; one day = one batch)")
    print(f"{'scenario':<16}{'tickets':>9}{'sim W_q':>9}{'± 95%':>8}{'Erlang C':>10}{'diff':>8}")
    for c, rho in ((1, 0.5), (4, 0.8), (12, 0.8)):
        config = mmc_hall(c, MEAN_MIN)
        means, n = [], 0
        seed = 1
        while n < total:
            sc = mmc_scenario(rho, c, MEAN_MIN, seed=seed, start=clock(0, 10), end=clock(23, 50))
            day = HallDay(config, sc, estimate=False).run()
            first, last = day.started + 4 * 3600, day.started + 22 * 3600
            waits = [
                t.wait_min
                for t in day.tickets
                if first < t.issued_at < last and t.wait_min is not None
            ]
            means.append(statistics.fmean(waits))
            n += len(waits)
            seed += 1
        mean = statistics.fmean(means)
        half = 1.96 * statistics.stdev(means) / math.sqrt(len(means))
        exact = mean_wait_s(rho * c / (MEAN_MIN * 60), MEAN_MIN * 60, c) / 60
        print(
            f"M/M/{c} ρ={rho:<6}{n:>9,}{mean:>9.3f}{half:>8.3f}{exact:>10.3f}"
            f"{(mean - exact) / exact:>8.1%}   ({len(means)} days)",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["mmc", "days", "erlang"])
    ap.add_argument("--tickets", type=int, default=1500, help="per M/M/c scenario")
    ap.add_argument("--seeds", type=int, default=4, help="per realistic day and seed group")
    ap.add_argument("--weeks", type=int, default=4, help="weeks of history before a scored day")
    ap.add_argument("--erlang-tickets", type=int, default=60_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.only in (None, "mmc"):
        mmc(args.tickets)
    if args.only in (None, "days"):
        days(args.seeds, args.weeks)
    if args.only in (None, "erlang"):
        erlang(args.erlang_tickets)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
