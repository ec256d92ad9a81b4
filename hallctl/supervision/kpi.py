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


PERCENTILES = (10, 25, 75, 90)


class _SortedByGroup:
    """Values sorted once; per grouping, a stable radix sort of the group keys in value order
    gives every group's values in ascending order (percentiles without a sort per group)."""

    def __init__(self, values: np.ndarray[Any, Any], rows: np.ndarray[Any, Any]) -> None:
        order = np.argsort(values[rows])  # numpy's vectorised float sort; ties in any order
        self.rows = rows[order]
        self.values = values[self.rows]

    def stats(
        self, g: np.ndarray[Any, Any], size: int, percentiles: bool = True, single: bool = False
    ) -> dict[str, list[float | None]]:
        """Per group: mean, and (``percentiles``) median and P10…P90. ``single``: ``g`` is
        one value throughout (the whole set), so the values are already in group order."""
        keys = g[self.rows]
        n = np.bincount(keys, minlength=size)
        sums = np.bincount(keys, weights=self.values, minlength=size)
        out: dict[str, list[float | None]] = {"mean": [], "median": []}
        out.update({f"p{p}": [] for p in PERCENTILES})
        if not percentiles:  # means only: no sort at all
            for i in range(size):
                k = int(n[i])
                out["mean"].append(float(sums[i]) / k if k else None)
                for name in out:
                    if name != "mean":
                        out[name].append(None)
            return out
        # 8/16-bit keys take numpy's radix sort: linear, and stable as percentiles need
        order = np.arange(len(keys)) if single else np.argsort(keys, kind="stable")
        starts = np.cumsum(n) - n
        # only the few values each group's percentiles need are gathered, not the whole column
        picks: list[int] = []
        for i in range(size):
            k, s = int(n[i]), int(starts[i])
            if k:
                picks += [s + (k - 1) // 2, s + k // 2]
                picks += [s + max(0, math.ceil(p / 100 * k) - 1) for p in PERCENTILES]
        got = self.values[order[np.array(picks, dtype=np.intp)]].astype(np.float64).tolist()
        j = 0
        for i in range(size):
            k = int(n[i])
            if k == 0:
                for v in out.values():
                    v.append(None)
                continue
            out["mean"].append(float(sums[i]) / k)
            out["median"].append((got[j] + got[j + 1]) / 2)
            for q, p in enumerate(PERCENTILES):
                out[f"p{p}"].append(got[j + 2 + q])
            j += 2 + len(PERCENTILES)
        return out


_BITS = ("called", "served", "no_show", "waited", "within_target", "wait_over", "svc_over",
         "reached", "reached_served", "transferred", "suspended", "timed_out")  # fmt: skip
_BIT_MATRIX = np.array(
    [[(combo >> i) & 1 for i in range(len(_BITS))] for combo in range(1 << len(_BITS))],
    dtype=np.int64,
)


class TicketSet:
    """The range's tickets, prepared once; ``kpis(key)`` gives every group's ticket KPIs."""

    def __init__(self, cols: Cols, thresholds: dict[str, np.ndarray[Any, Any]]) -> None:
        self.cols = cols
        self.thresholds = thresholds
        self.n = len(cols["outcome"])
        outcome, flags = cols["outcome"], cols["flags"]
        svc = cols["service"].astype(np.intp)
        wait, service_s = cols["wait"], cols["service_s"]
        self.served = outcome == SERVED
        self.called = (flags & CALLED) != 0
        self.no_show = outcome == NO_SHOW
        self.transferred = (flags & TRANSFERRED) != 0
        self.suspended = (flags & SUSPENDED) != 0
        waited = self.called & ~np.isnan(wait)
        self.waited = waited
        with np.errstate(invalid="ignore"):
            self.within_target = waited & (wait <= thresholds["target"][svc])
            self.wait_over = waited & (wait > thresholds["limit"][svc])
            self.svc_over = self.served & (service_s > thresholds["svc_limit"][svc])
        self.reached = thresholds["immediate"][svc] & self.called & ~self.no_show
        self.reached_served = self.reached & self.served
        level = cols["level"]
        self.evaluated = self.served & (level > 0)
        self.timed_out = self.served & (cols["evaluation"] == TIMED_OUT) & (level == 0)
        self.level = level.astype(np.intp)
        self.wait_sorted = _SortedByGroup(wait, np.flatnonzero(waited))
        self.wait_stats: dict[str | None, dict[str, list[float | None]]] = {}  # for charts
        self.svc_sorted = _SortedByGroup(service_s, np.flatnonzero(self.served))
        # every row's flags in one small integer: a grouping then counts them all in one pass
        self.bits = np.zeros(self.n, dtype=np.intp)
        for i, name in enumerate(_BITS):
            self.bits |= getattr(self, name).astype(np.intp) << i

    def kpis(
        self, key: str | None, percentiles: tuple[str, ...] = ("wait", "service")
    ) -> dict[int, dict[str, Any]]:
        """Ticket KPIs per value of column ``key`` (None: one group, the whole set).

        Medians and P90s need a sort per grouping; ``percentiles`` names the columns whose
        percentiles the caller shows (the others get means only, None for the rest)."""
        offset = 1  # window and staff use -1 for "none"
        if key is None:
            g = np.full(self.n, offset, dtype=np.int16)
        else:
            g = self.cols[key] + np.int16(offset)  # stays 8/16-bit: see _SortedByGroup

        size = int(g.max()) + 1 if self.n else offset + 1
        combos = 1 << len(_BITS)
        flat = np.bincount(g.astype(np.intp) * combos + self.bits, minlength=size * combos)
        table = flat.reshape(size, combos)
        issued = table.sum(axis=1)
        per_bit = table @ _BIT_MATRIX  # (groups, bits): rows of each group with each flag set
        present = [i - offset for i in np.flatnonzero(issued).tolist()]
        if key is None and not present:
            present = [0]
        c = {name: per_bit[:, i] for i, name in enumerate(_BITS)}
        called, served, no_show, waited = c["called"], c["served"], c["no_show"], c["waited"]
        within, over, svc_over = c["within_target"], c["wait_over"], c["svc_over"]
        reached, reached_served = c["reached"], c["reached_served"]
        transferred, suspended, timed_out = c["transferred"], c["suspended"], c["timed_out"]
        ev = self.evaluated
        levels = np.bincount(g[ev] * 6 + self.level[ev], minlength=size * 6).reshape(size, 6)
        one = key is None
        w = self.wait_sorted.stats(g, size, "wait" in percentiles, one)
        sv = self.svc_sorted.stats(g, size, "service" in percentiles, one)
        self.wait_stats[key] = w
        out: dict[int, dict[str, Any]] = {}
        for value in present:
            i = value + offset
            n_eval = int(levels[i].sum())
            n_served = int(served[i])
            t_out = int(timed_out[i])
            out[value] = {
                "issued": int(issued[i]),
                "called": int(called[i]),
                "served": n_served,
                "no_show": int(no_show[i]),
                "open": int(issued[i]) - n_served - int(no_show[i]),
                "transferred": int(transferred[i]),
                "suspended": int(suspended[i]),
                "wait_mean": _min(w["mean"][i]),
                "wait_median": _min(w["median"][i]),
                "wait_p90": _min(w["p90"][i]),
                "wait_within_target": _share(int(within[i]), int(waited[i])),
                "wait_over_limit": _share(int(over[i]), int(waited[i])),
                "service_mean": _min(sv["mean"][i]),
                "service_p90": _min(sv["p90"][i]),
                "service_over_limit": _share(int(svc_over[i]), n_served),
                "on_spot_rate": _share(int(reached_served[i]), int(reached[i])),
                "evaluated": n_eval,
                "eval_rate": _share(n_eval, n_served),
                "satisfaction": _share(int(levels[i, 3:].sum()), n_eval),
                **{f"level_{j}": int(levels[i, j]) for j in range(1, 6)},
                "bad_reviews": int(levels[i, 1] + levels[i, 2]),
                "timed_out": t_out,
                "not_evaluated": n_served - n_eval - t_out,
            }
        return out


def _min(seconds: float | None) -> float | None:
    return seconds / 60 if seconds is not None else None


def ticket_kpis(cols: Cols, thresholds: dict[str, np.ndarray[Any, Any]]) -> dict[str, Any]:
    return TicketSet(cols, thresholds).kpis(None)[0]


@dataclass
class Merged:
    """Every ticket of the range in columns, with service indexes into ``services``."""

    cols: Cols
    services: list[str]
    staff: list[str]
    thresholds: dict[str, np.ndarray[Any, Any]]  # per service index: target, limits, 即办件


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
                "level": t["level"],
                "evaluation": t["evaluation"],
                "flags": t["flags"],
                "wait": t["wait"],
                "service_s": t["service_s"],
                "day": np.full(len(t), di, dtype=np.int16),
            }
        )
    keys = ["service", "staff", "window", "hour", "finish_hour", "outcome", "level",
            "evaluation", "flags", "wait", "service_s", "day"]  # fmt: skip
    if parts:
        cols = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    else:
        empty = {"wait": np.float32, "service_s": np.float32}
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
    thresholds = {
        "target": target.astype(np.float32),
        "limit": limit.astype(np.float32),
        "svc_limit": svc_limit.astype(np.float32),
        "immediate": immediate,
    }
    return Merged(cols, services, staff, thresholds)


def select(cols: Cols, mask: np.ndarray[Any, Any]) -> Cols:
    return {k: v[mask] for k, v in cols.items()}
