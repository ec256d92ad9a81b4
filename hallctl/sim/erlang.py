"""Erlang C (M/M/c): the textbook answer the simulator and the planner are checked against.

With arrivals at rate λ, c identical windows each serving at rate μ (mean service time 1/μ) and
a = λ/μ the offered load, a citizen waits at all with probability C(c, a) and on average
W_q = C(c, a) / (cμ − λ). Also: the share who wait at most t, 1 − C(c, a)·e^(−(cμ − λ)t).
"""

from __future__ import annotations

import math
from datetime import time

from hallctl.config import HallConfig, parse_config
from hallctl.sim.scenario import Distribution, Rate, Scenario, ServicePlan


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits, for c servers and offered load a (< c)."""
    if c <= 0 or a >= c:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c * c / (c - a)  # a^c / c! · c / (c − a)
    return last / (total + last)


def mean_wait_s(arrivals_per_s: float, service_s: float, c: int) -> float:
    a = arrivals_per_s * service_s
    if a >= c:
        return math.inf
    return erlang_c(c, a) / (c / service_s - arrivals_per_s)


def share_within(arrivals_per_s: float, service_s: float, c: int, target_s: float) -> float:
    """Share of citizens who wait at most ``target_s``."""
    a = arrivals_per_s * service_s
    if a >= c:
        return 0.0
    return 1.0 - erlang_c(c, a) * math.exp(-(c / service_s - arrivals_per_s) * target_s)


def windows_needed(
    arrivals_per_s: float, service_s: float, target_s: float, share: float, limit: int = 200
) -> int:
    """The fewest windows for which ``share`` of citizens wait at most ``target_s``."""
    if arrivals_per_s <= 0:
        return 0
    c = max(1, math.floor(arrivals_per_s * service_s) + 1)
    while c < limit and share_within(arrivals_per_s, service_s, c, target_s) < share:
        c += 1
    return c


def mmc_hall(c: int, mean_min: float) -> HallConfig:
    """One service, c windows, no opening hours or caps in the way."""
    windows = "".join(f"  - {{number: {n}, services: [S]}}\n" for n in range(1, c + 1))
    return parse_config(
        "version: 1\n"
        "hall: {id: mmc, name: M/M/c}\n"
        "services:\n"
        f"  - {{code: S, name: 业务, prefix: A, digits: 5, daily_cap: 99999,"
        f" avg_service_min: {mean_min}, limit_wait_min: 600}}\n"
        f"windows:\n{windows}"
        "evaluation: {timeout_s: 60}\n"
    )


def mmc_scenario(
    rho: float,
    c: int,
    mean_min: float,
    *,
    start: time = time(0, 30),
    end: time = time(23, 0),
    seed: int = 1,
    dist: str = "exponential",
) -> Scenario:
    per_hour = rho * c * 60.0 / mean_min
    return Scenario(
        name=f"M/M/{c} at ρ={rho}",
        start=start,
        end=end,
        seed=seed,
        services={
            "S": ServicePlan(
                arrivals=[Rate.model_validate({"from": start, "to": end, "per_hour": per_hour})],
                service=Distribution.model_validate({"dist": dist, "mean_min": mean_min}),
            )
        },
    )
