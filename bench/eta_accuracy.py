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
from dataclasses import dataclass, field
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
        f"{name:<38}{est.n:>6}{est.mean_wait_min:>7.1f}"
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
        f"{'scenario':<38}{'n':>6}{'wait':>7}{'MAE%':>7}{'bias%':>7}{'p90':>6}"
        f"{'a MAE':>7}{'a bias':>7}{'b MAE':>7}{'b bias':>7}{'÷ b':>8}{'< a by':>8}"
    )


@dataclass
class Batches:
    """Per simulated day (one batch): sums that make each row's ratios and their intervals."""

    days: list[dict[str, float]] = field(default_factory=list)

    def add(self, tickets: list[TicketRecord]) -> None:
        d = {"n": 0.0, "wait": 0.0}
        for t in tickets:
            if t.wait_min is None:
                continue
            d["n"] += 1
            d["wait"] += t.wait_min
            for name, v in (("est", t.est_min), ("a", t.baseline_min), ("b", t.oracle_min)):
                d[name] = d.get(name, 0.0) + (v - t.wait_min)
                d[name + "|"] = d.get(name + "|", 0.0) + abs(v - t.wait_min)
        if d["n"]:
            self.days.append(d)

    @property
    def n(self) -> int:
        return int(sum(d["n"] for d in self.days))

    def ratio(self, top: str, bottom: str) -> tuple[float, float]:
        """Σ top ÷ Σ bottom over the days, with its 95 % half-width (batch means, delta
        method for a ratio of sums: the days are independent, the tickets of a day are not)."""
        k = len(self.days)
        xs, ys = [d.get(top, 0.0) for d in self.days], [d.get(bottom, 0.0) for d in self.days]
        r = sum(xs) / sum(ys) if sum(ys) else math.nan
        if k < 2 or not sum(ys):
            return r, math.nan
        ybar = sum(ys) / k
        var = sum((x - r * y) ** 2 for x, y in zip(xs, ys, strict=True)) / (k * (k - 1))
        return r, 1.96 * math.sqrt(var) / ybar


def mmc(tickets_each: int, day_hours: float) -> list[tuple[bool, bool]]:
    print(
        f"\nM/M/c, exponential service, mean {MEAN_MIN} min; ≥ {tickets_each:,} tickets a row in "
        f"days of {day_hours:g} h of arrivals (each starts empty; one day = one batch for the "
        "95 % intervals); bias and MAE as % of the mean wait"
    )
    print(
        f"{'scenario':<15}{'tickets':>8}{'days':>6}{'wait':>8}"
        f"{'bias% ± 95%':>15}{'b bias% ± 95%':>17}"
        f"{'MAE%':>7}{'b MAE%':>8}{'÷ b ± 95%':>13}{'a MAE%':>8}  floors: bias, ÷ b"
    )
    verdicts = []
    end_h = 9 + day_hours
    end = clock(int(end_h), round((end_h % 1) * 60))
    for c in (1, 4, 12):
        for rho in (0.5, 0.8, 0.9, 0.95):
            config = mmc_hall(c, MEAN_MIN)
            # a hall in service has history: a two-hour day first, not scored
            warm_up = HallDay(config, mmc_scenario(rho, c, MEAN_MIN, end=clock(2, 30), seed=99))
            warm_up.run()
            batches = Batches()
            seed = 1
            while batches.n < tickets_each:
                sc = mmc_scenario(rho, c, MEAN_MIN, start=clock(9, 0), end=end, seed=seed)
                when = date.fromisoformat(sc.date) + timedelta(days=seed)
                batches.add(HallDay(config, sc, hall=warm_up.hall, day=when).run().tickets)
                seed += 1
            bias, bias_ci = batches.ratio("est", "wait")
            obias, obias_ci = batches.ratio("b", "wait")
            mae = batches.ratio("est|", "wait")[0]
            omae = batches.ratio("b|", "wait")[0]
            amae = batches.ratio("a|", "wait")[0]
            vs_b, vs_b_ci = batches.ratio("est|", "b|")
            wait = sum(d["wait"] for d in batches.days) / batches.n
            bias_ok, mae_ok = abs(bias) <= 0.03, vs_b <= 1.1
            sure = (
                "sure"
                if abs(bias) + bias_ci <= 0.03 and vs_b + vs_b_ci <= 1.1
                else "within noise"
                if bias_ok and mae_ok
                else ""
            )
            verdicts.append((bias_ok and mae_ok, sure == "sure"))
            print(
                f"M/M/{c} ρ={rho:<6}{batches.n:>8,}{len(batches.days):>6}"
                f"{_wait(wait):>8}{_pm(bias, bias_ci):>15}{_pm(obias, obias_ci):>17}"
                f"{100 * mae:>7.1f}{100 * omae:>8.1f}{vs_b:>7.2f} ±{vs_b_ci:4.2f}{100 * amae:>8.1f}"
                f"  {'pass' if bias_ok else 'FAIL'}, {'pass' if mae_ok else 'FAIL'} {sure}",
                flush=True,
            )
    print(
        f"floors (bias within ±3 %, MAE ≤ 1.1 × the oracle's): {sum(v for v, _ in verdicts)} of "
        f"{len(verdicts)} rows pass, {sum(sure for _, sure in verdicts)} of them with the whole "
        "95 % interval inside"
    )
    return verdicts


def _wait(minutes: float) -> str:
    return f"{minutes:.1f}m" if minutes >= 1 else f"{minutes * 60:.1f}s"


def _pm(x: float, half: float) -> str:
    return f"{100 * x:+.1f} ±{100 * half:.1f}"


FRESH = 100  # fresh seeds: 101, 102, …, never looked at while the estimator was built


def days(seeds: int, weeks: int, verbose: bool) -> None:
    print(
        f"\nrealistic hall days ({weeks} week(s) of history: the same weekday, scored on the "
        f"last; bench seeds 1–{seeds}, fresh seeds {FRESH + 1}–{FRESH + seeds}, pooled)"
    )
    header()
    for name in ("city", "district"):
        config = load_config(DAYS / f"{name}_hall.yaml")
        sc = load_scenario(DAYS / f"{name}_day.yaml")
        groups = {
            f"seeds 1-{seeds}": range(1, seeds + 1),
            f"seeds {FRESH + 1}-{FRESH + seeds}": range(FRESH + 1, FRESH + seeds + 1),
        }
        results = {}
        for group, seed_list in groups.items():
            group_tickets: list[TicketRecord] = []
            lowers: list[float] = []
            batches = Batches()
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
                if verbose:
                    row(f"{sc.name} #{seed}", scored.tickets)
                est, base = accuracy(scored.tickets), accuracy(scored.tickets, "baseline_min")
                lowers.append(1 - est.mae_pct / base.mae_pct)
                batches.add(scored.tickets)
                group_tickets += scored.tickets
            results[group] = row(f"{sc.name}, {group}", group_tickets)
            vs_a, vs_a_ci = batches.ratio("est|", "a|")
            bias, bias_ci = batches.ratio("est", "wait")
            print(
                f"  MAE {1 - vs_a:.0%} ± {vs_a_ci:.0%} lower than (a), bias {_pm(bias, bias_ci)} %"
                f" (95 %, days as batches); per seed {min(lowers):.0%} to {max(lowers):.0%} lower"
            )
        for group, (est, base, _) in results.items():
            lower = 1 - est.mae_pct / base.mae_pct
            verdict = "pass" if lower >= 0.30 and abs(est.bias_pct) <= 10 else "FAIL"
            print(
                f"  floor ({group}): MAE {lower:.0%} lower than (a) (≥ 30 %), bias "
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
    ap.add_argument("--tickets", type=int, default=20_000, help="per M/M/c scenario")
    ap.add_argument("--day-hours", type=float, default=8.0, help="M/M/c: hours of arrivals a day")
    ap.add_argument("--seeds", type=int, default=16, help="per realistic day and seed group")
    ap.add_argument("--verbose", action="store_true", help="a row for every seed's day")
    ap.add_argument("--weeks", type=int, default=4, help="weeks of history before a scored day")
    ap.add_argument("--erlang-tickets", type=int, default=60_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.only in (None, "mmc"):
        mmc(args.tickets, args.day_hours)
    if args.only in (None, "days"):
        days(args.seeds, args.weeks, args.verbose)
    if args.only in (None, "erlang"):
        erlang(args.erlang_tickets)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
