"""KPIs over a range of days' facts, per hall / service / window / staff / hour / day.

Formulas are those of ``definitions.KPIS``; this module is their one implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hallctl.config.models import HallConfig
from hallctl.supervision.facts import (
    CALLED,
    NO_SHOW,
    SERVED,
    SUSPENDED,
    TIMED_OUT,
    TRANSFERRED,
    DayFacts,
)

Cols = dict[str, np.ndarray[Any, Any]]
TICKET_KPIS = [
    "issued", "called", "served", "no_show", "open", "transferred", "suspended",
    "wait_mean", "wait_median", "wait_p90", "wait_within_target", "wait_over_limit",
    "service_mean", "service_p90", "service_over_limit", "on_spot_rate",
    "evaluated", "eval_rate", "satisfaction", "level_5", "level_4", "level_3", "level_2",
    "level_1", "bad_reviews", "timed_out", "not_evaluated",
]  # fmt: skip


def nearest_rank(sorted_values: np.ndarray[Any, Any], p: float) -> float | None:
    n = len(sorted_values)
    if n == 0:
        return None
    return float(sorted_values[max(0, math.ceil(p * n) - 1)])


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


def _mean_min(v: np.ndarray[Any, Any]) -> float | None:
    return float(v.mean()) / 60 if len(v) else None


def ticket_kpis(c: Cols) -> dict[str, Any]:
    outcome = c["outcome"]
    flags = c["flags"]
    served = outcome == SERVED
    called = (flags & CALLED) != 0
    n_served = int(served.sum())
    n_called = int(called.sum())
    no_show = int((outcome == NO_SHOW).sum())
    waits_m = called & ~np.isnan(c["wait"])
    wait = c["wait"][waits_m]
    wait_sorted = np.sort(wait)
    svc = c["service_s"][served]
    svc_sorted = np.sort(svc)
    levels = c["level"]
    evaluated_m = served & (levels > 0)
    n_eval = int(evaluated_m.sum())
    counts = np.bincount(levels[evaluated_m], minlength=6)
    immediate = c["immediate"]
    reached = immediate & called & (outcome != NO_SHOW)
    timed_out = int((served & (c["evaluation"] == TIMED_OUT) & (levels == 0)).sum())
    return {
        "issued": len(outcome),
        "called": n_called,
        "served": n_served,
        "no_show": no_show,
        "open": len(outcome) - n_served - no_show,
        "transferred": int(((flags & TRANSFERRED) != 0).sum()),
        "suspended": int(((flags & SUSPENDED) != 0).sum()),
        "wait_mean": _mean_min(wait),
        "wait_median": float(np.median(wait_sorted)) / 60 if len(wait) else None,
        "wait_p90": _div60(nearest_rank(wait_sorted, 0.9)),
        "wait_within_target": _share(int((wait <= c["target"][waits_m]).sum()), len(wait)),
        "wait_over_limit": _share(int((wait > c["limit"][waits_m]).sum()), len(wait)),
        "service_mean": _mean_min(svc),
        "service_p90": _div60(nearest_rank(svc_sorted, 0.9)),
        "service_over_limit": _share(int((svc > c["svc_limit"][served]).sum()), n_served),
        "on_spot_rate": _share(int((reached & served).sum()), int(reached.sum())),
        "evaluated": n_eval,
        "eval_rate": _share(n_eval, n_served),
        "satisfaction": _share(int(counts[3:].sum()), n_eval),
        **{f"level_{i}": int(counts[i]) for i in range(1, 6)},
        "bad_reviews": int(counts[1] + counts[2]),
        "timed_out": timed_out,
        "not_evaluated": n_served - n_eval - timed_out,
    }


def _div60(v: float | None) -> float | None:
    return v / 60 if v is not None else None


@dataclass
class Merged:
    """Every ticket of the range in columns, with service indexes into ``services``."""

    cols: Cols
    services: list[str]
    staff: list[str]


def merge(config: HallConfig, days: Sequence[DayFacts]) -> Merged:
    services = [s.code for s in config.services]
    s_index = {code: i for i, code in enumerate(services)}
    staff = [p.id for p in config.staff]
    p_index = {pid: i for i, pid in enumerate(staff)}

    def gidx(table: list[str], index: dict[str, int], key: str) -> int:
        if key not in index:
            index[key] = len(table)
            table.append(key)
        return index[key]

    parts: list[Cols] = []
    for di, d in enumerate(days):
        t = d.tickets
        if len(t) == 0:
            continue
        smap = np.array([gidx(services, s_index, k) for k in d.services] or [0], dtype=np.int16)
        pmap = np.array([gidx(staff, p_index, k) for k in d.staff] + [-1], dtype=np.int16)
        parts.append(
            {
                "service": smap[t["service"]],
                "staff": pmap[t["staff"]],  # -1 picks the appended -1
                "window": t["window"],
                "hour": t["hour"],
                "finish_hour": t["finish_hour"],
                "outcome": t["outcome"],
                "level": t["level"].astype(np.int64),
                "evaluation": t["evaluation"],
                "flags": t["flags"],
                "wait": t["wait"].astype(np.float64),
                "service_s": t["service_s"].astype(np.float64),
                "day": np.full(len(t), di, dtype=np.int32),
            }
        )
    keys = ["service", "staff", "window", "hour", "finish_hour", "outcome", "level",
            "evaluation", "flags", "wait", "service_s", "day"]  # fmt: skip
    if parts:
        cols = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    else:
        empty = {"wait": np.float64, "service_s": np.float64, "level": np.int64}
        cols = {k: np.zeros(0, dtype=empty.get(k, np.int16)) for k in keys}
    norms = config.supervision.norms
    by_code = {s.code: s for s in config.services}

    def per_service(fn: Any, default: float) -> np.ndarray[Any, Any]:
        return np.array(
            [fn(by_code[code]) if code in by_code else default for code in services] or [default]
        )

    target = per_service(lambda s: s.target_wait_min * 60.0, 15 * 60.0)
    limit = per_service(lambda s: s.limit_wait_min * 60.0, 30 * 60.0)
    svc_limit = per_service(
        lambda s: (norms.service_limit(s.code) or math.inf) * 60.0,
        (norms.service_limit_min or math.inf) * 60.0,
    )
    immediate = np.array(
        [by_code[c].kind == "immediate" if c in by_code else True for c in services] or [True]
    )
    sidx = cols["service"].astype(np.int64)
    cols["target"] = target[sidx]
    cols["limit"] = limit[sidx]
    cols["svc_limit"] = svc_limit[sidx]
    cols["immediate"] = immediate[sidx]
    return Merged(cols, services, staff)


def select(cols: Cols, mask: np.ndarray[Any, Any]) -> Cols:
    return {k: v[mask] for k, v in cols.items()}


def grouped(cols: Cols, key: str) -> list[tuple[int, Cols]]:
    """Rows split by the value of column ``key`` (one stable sort, then slices)."""
    keys = cols[key]
    if len(keys) == 0:
        return []
    order = np.argsort(keys, kind="stable")
    ordered = {k: v[order] for k, v in cols.items()}
    values, starts = np.unique(ordered[key], return_index=True)
    ends = [*starts[1:], len(order)]
    return [
        (int(v), {k: col[s:e] for k, col in ordered.items()})
        for v, s, e in zip(values, starts, ends, strict=True)
    ]
