"""What a simulated day is judged by: the day's KPIs and how good the wait estimates were.

``day_kpis`` is the one place the KPIs are defined for ``hallctl simulate``; when the 电子监察
report definitions (hallctl/supervision/) land, this function is where they plug in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hallctl.sim.hallday import DayResult, TicketRecord


def percentile(xs: Sequence[float], q: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def day_kpis(day: DayResult) -> dict[str, Any]:
    """Tickets, waits against each service's limit, no-shows, window utilisation."""
    called = [t for t in day.tickets if t.called_at is not None]
    waits = [t.wait_min or 0.0 for t in called]
    limits = {s.code: s.limit_wait_min for s in day.config.services}
    within = sum(1 for t in called if (t.wait_min or 0.0) <= limits[t.service])
    per_service: dict[str, dict[str, Any]] = {}
    for code in sorted({t.service for t in day.tickets}):
        mine = [t.wait_min or 0.0 for t in called if t.service == code]
        per_service[code] = {
            "issued": sum(1 for t in day.tickets if t.service == code),
            "mean_wait_min": round(sum(mine) / len(mine), 1) if mine else None,
            "p90_wait_min": round(percentile(mine, 0.9), 1),
            "within_limit_pct": round(
                100 * sum(1 for w in mine if w <= limits[code]) / len(mine), 1
            )
            if mine
            else None,
        }
    busy, opened = sum(day.busy_s.values()), sum(day.open_s.values())
    return {
        "issued": len(day.tickets),
        "refused": day.refused,
        "called": len(called),
        "no_shows": sum(1 for t in day.tickets if t.no_show),
        "transfers": sum(1 for t in day.tickets if t.transferred),
        "mean_wait_min": round(sum(waits) / len(waits), 2) if waits else None,
        "p90_wait_min": round(percentile(waits, 0.9), 1),
        "max_wait_min": round(max(waits), 1) if waits else None,
        "within_limit_pct": round(100 * within / len(called), 1) if called else None,
        "long_wait_alarms": day.long_wait_alarms,
        "window_utilisation_pct": round(100 * busy / opened, 1) if opened else None,
        "services": per_service,
    }


@dataclass(frozen=True, slots=True)
class Accuracy:
    n: int
    mean_wait_min: float
    mae_pct: float  # mean absolute error, % of the mean wait
    bias_min: float  # mean (estimate − actual); negative = told too little
    bias_pct: float
    p90_abs_min: float
    under_pct: float  # share of tickets told less than they waited (by more than 0.5 min)


ESTIMATES = {
    "estimator": "est_min",
    "baseline (a)": "baseline_min",
    "oracle (b)": "oracle_min",
    "old": "old_min",
}


def accuracy(tickets: Sequence[TicketRecord], attr: str = "est_min") -> Accuracy:
    pairs = [(getattr(t, attr), t.wait_min) for t in tickets if t.wait_min is not None]
    if not pairs:
        return Accuracy(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    errors = [e - w for e, w in pairs]
    mean_wait = sum(w for _, w in pairs) / len(pairs)
    mae = sum(abs(x) for x in errors) / len(errors)
    bias = sum(errors) / len(errors)
    denominator = mean_wait if mean_wait > 0 else 1.0
    return Accuracy(
        n=len(pairs),
        mean_wait_min=mean_wait,
        mae_pct=100 * mae / denominator,
        bias_min=bias,
        bias_pct=100 * bias / denominator,
        p90_abs_min=percentile([abs(x) for x in errors], 0.9),
        under_pct=100 * sum(1 for x in errors if x < -0.5) / len(errors),
    )


def print_kpis(day: DayResult, *, estimates: bool = True) -> str:
    k = day_kpis(day)
    lines = [
        f"{day.scenario.name}: {k['issued']} tickets ({k['refused']} refused), "
        f"{k['called']} called, {k['no_shows']} no-shows, {k['transfers']} transfers",
        f"wait: mean {k['mean_wait_min']} min, p90 {k['p90_wait_min']}, max {k['max_wait_min']}; "
        f"within the service's limit {k['within_limit_pct']}%; "
        f"long-wait alarms {k['long_wait_alarms']}; windows busy {k['window_utilisation_pct']}%",
        f"{'service':<10}{'issued':>8}{'mean wait':>11}{'p90':>7}{'≤ limit':>9}",
    ]
    for code, s in k["services"].items():
        lines.append(
            f"{code:<10}{s['issued']:>8}{s['mean_wait_min'] or 0:>11}{s['p90_wait_min']:>7}"
            f"{s['within_limit_pct'] or 0:>8}%"
        )
    if estimates:
        lines.append(
            f"{'estimate':<14}{'MAE %':>7}{'bias min':>10}{'bias %':>8}"
            f"{'p90 |err|':>10}{'under %':>9}"
        )
        for name, attr in ESTIMATES.items():
            a = accuracy(day.tickets, attr)
            lines.append(
                f"{name:<14}{a.mae_pct:>7.1f}{a.bias_min:>10.2f}{a.bias_pct:>8.1f}"
                f"{a.p90_abs_min:>10.1f}{a.under_pct:>9.1f}"
            )
    return "\n".join(lines)
