"""What makes a forward run cheap changes no number but a group's first finish (hall/eta.py).

- Service times are kept across runs, per service: a finish of one service leaves the others'
  cached; every cached time equals one worked out afresh.
- ``first_finish`` multiplies a window at a time; it is the same integral, to the bit, as the
  product of ``Residual.alive`` point by point. A group of interchangeable windows integrates on
  fewer points, and stays close to a fine integral.
- The kept forecast remembers the tickets issued since it was made in 8 bytes each (their
  arrival order), and each is still told the time it was printed with.
"""

from __future__ import annotations

import contextlib
import gc
import math
import random
import sys
from datetime import datetime

from hallctl.config import parse_config
from hallctl.hall.errors import HallError
from hallctl.hall.eta import Estimator, ghost_key
from hallctl.hall.service_times import (
    FIRST_GRID,
    GROUP_GRID,
    Residual,
    ServiceTime,
    first_finish,
)
from tests.hall.conftest import TZ, Driver
from tests.hall.test_eta import HALL

START = datetime(2026, 11, 25, 9, 30, tzinfo=TZ)

THREE_SERVICES = """
version: 1
hall: {id: eta-cost, name: 测试大厅, timezone: Asia/Shanghai}
services:
  - {code: X, name: 业务甲, prefix: A, avg_service_min: 6, daily_cap: 999}
  - {code: Y, name: 业务乙, prefix: B, avg_service_min: 9, daily_cap: 999}
  - {code: Z, name: 业务丙, prefix: C, avg_service_min: 4, daily_cap: 999}
windows:
  - {number: 1, services: [X, Y]}
  - {number: 2, services: [Y, {service: X, level: 2}]}
  - {number: 3, services: [Z, X]}
  - {number: 4, services: [Z]}
staff:
  - {id: S1, name: 王芳, staff_no: "0101"}
  - {id: S2, name: 李强, staff_no: "0102"}
"""

ONE_LONG_LINE = """
version: 1
hall: {id: eta-long, name: 测试大厅, timezone: Asia/Shanghai}
services:
  - {code: X, name: 业务甲, prefix: A, digits: 5, avg_service_min: 1, daily_cap: 99999}
windows:
  - {number: 1, services: [X]}
"""


def reference_first_finish(busy: list[Residual], points: int = FIRST_GRID) -> float:
    """first_finish as it was written first: the product of alive() at each grid point."""
    if len(busy) == 1:
        return busy[0].mean
    spread = [r for r in busy if len(r.xs) - r.i > 1]
    certain = [r.mean for r in busy if len(r.xs) - r.i <= 1]
    if not spread:
        return min(certain)
    first = min(spread, key=lambda r: r.mean)
    end = min([*certain, first.quantile(1.0)])
    grid = sorted(
        {t for t in (first.quantile(g / points) for g in range(1, points)) if t < end}
        | {t for t in certain if t <= end}
        | {end}
    )
    total, prev_t, prev_p = 0.0, 0.0, 1.0
    for t in grid:
        p = 1.0
        for r in busy:
            p *= r.alive(t)
            if p == 0.0:
                break
        if p <= 0.0 or prev_p - p < 1e-9:
            total += (t - prev_t) * prev_p
        else:
            total += (t - prev_t) * (prev_p - p) / math.log(prev_p / p)
        prev_t, prev_p = t, p
        if p == 0.0:
            break
    return total


def test_first_finish_is_the_product_of_alive_point_by_point_to_the_bit() -> None:
    rng = random.Random(5)
    for _ in range(300):
        services = [
            ServiceTime.of([rng.lognormvariate(5.5, rng.uniform(0.2, 1.0)) for _ in range(n)], 300)
            for n in (0, 3, 40, 1000)
        ]
        busy = [
            rng.choice(services).scaled(rng.uniform(0.7, 1.4)).residual(rng.uniform(0, 900))
            for _ in range(rng.randint(1, 40))
        ]
        assert first_finish(busy) == reference_first_finish(busy)
        assert first_finish(busy, GROUP_GRID) == reference_first_finish(busy, GROUP_GRID)


def test_a_group_first_finish_on_fewer_points_stays_close_to_a_fine_integral() -> None:
    # a group's first finish (hall/eta.py) uses GROUP_GRID points: a few % at worst
    rng = random.Random(8)
    services = [
        ServiceTime.of([rng.uniform(10, 144) for _ in range(1000)], 300),
        ServiceTime.of([rng.lognormvariate(5, 0.8) for _ in range(1000)], 300),
    ]
    errors = []
    for _ in range(300):
        group = [rng.choice(services).residual(rng.uniform(0, 120)) for _ in range(3)]
        fine = first_finish(group, 1000)
        errors.append(abs(first_finish(group, GROUP_GRID) - fine) / fine)
    assert sum(errors) / len(errors) < 0.01 and max(errors) < 0.08


def busy_day(seed: int) -> Driver:
    """Four windows, two named staff, three services: calls, finishes, no-shows, transfers."""
    rng = random.Random(seed)
    d = Driver(parse_config(THREE_SERVICES), START)
    for n in (1, 2, 3, 4):
        d("open_window", window=n)
    d("assign_staff", window=1, staff="S1")
    d("assign_staff", window=3, staff="S2")
    return _play(d, rng, 400)


def _play(d: Driver, rng: random.Random, steps: int) -> Driver:
    for _ in range(steps):
        d.later(seconds=rng.uniform(5, 90))
        r = rng.random()
        if r < 0.45:
            d("take_ticket", service=rng.choice("XYZ"))
            continue
        n = rng.randint(1, 4)
        w = d.hall.state.windows[n]
        if w.current is None or r < 0.8:
            if any(q for code in "XYZ" for q in d.hall.state.line(code).queues.values()):
                with contextlib.suppress(HallError):  # nobody waits for this window
                    d("call_next", window=n)
        elif r < 0.95:
            d("finish", window=n)
        elif r < 0.98:
            d("no_show", window=n)
        else:
            current = d.hall.state.tickets[w.current].service
            d("transfer", window=n, service=rng.choice([c for c in "XYZ" if c != current]))
    return d


def test_service_times_kept_across_runs_equal_fresh_ones() -> None:
    for seed in range(3):
        d = busy_day(seed)
        rng = random.Random(seed)
        for _ in range(20):
            _play(d, rng, 15)
            fresh = Estimator(d.hall)
            for code in "XYZ":
                for staff, window in ((None, None), ("S1", 1), ("S2", 3), (None, 2), (None, 4)):
                    assert d.hall.eta.service_time(code, staff, window) == fresh.service_time(
                        code, staff, window
                    )
            at = d.now.timestamp()
            ghosts = [(code, "normal") for code in "XYZ"]
            targets = [ghost_key(code, "normal") for code in "XYZ"]
            kept = d.hall.eta.forecast(at, ghosts=ghosts, targets=targets)
            assert kept == fresh.forecast(at, ghosts=ghosts, targets=targets)


def test_samples_changed_outside_the_fold_drop_every_cached_time() -> None:
    d = busy_day(1)
    est = d.hall.eta
    before = est.service_time("X")
    s = d.hall.state
    s.service_samples["X"].extend([3600.0] * 200)  # an hour each: a much slower pace
    s.samples_seen += 200
    after = est.service_time("X")
    assert after.mean_s > before.mean_s
    assert after == Estimator(d.hall).service_time("X")


def test_a_burst_within_one_forecast_is_remembered_in_eight_bytes_a_ticket() -> None:
    d = Driver(parse_config(HALL), START)
    d("open_window", window=1)
    for _ in range(5):
        d("take_ticket", service="X")
    d.later(minutes=1)
    printed = {}
    for _ in range(900):
        t = d("take_ticket", service="X")
        printed[t["ticket"]] = t["est_wait_min"]
    kept = d.hall.eta._kept
    assert kept.since == {"X": 900}
    # the slot is known (one window, its line): an arrival order each, no times
    assert len(kept.orders["X"]) == 900 and kept.placed == {}
    assert sys.getsizeof(kept.orders["X"]) < 10 * 900
    # the displays' own forecast remembers nobody
    assert d.hall.eta._shown.orders == {} and d.hall.eta._shown.placed == {}
    runs = d.hall.eta.runs
    asked = {number: d("ticket_eta", ticket=number)["est_wait_min"] for number in printed}
    assert asked == printed and d.hall.eta.runs == runs


def test_tickets_placed_by_the_windows_in_turn_keep_their_times() -> None:
    d = Driver(parse_config(HALL), START)
    d("open_window", window=1)
    d("open_window", window=2)
    printed = {}
    for _ in range(30):
        t = d("take_ticket", service="X")
        printed[t["ticket"]] = t["est_wait_min"]
    kept = d.hall.eta._kept
    # nobody waited when the run was made: no slot, each ticket's time is kept (8 bytes)
    assert kept.slot["X"] is None and len(kept.placed["X"]) == len(kept.orders["X"]) == 30
    asked = {number: d("ticket_eta", ticket=number)["est_wait_min"] for number in printed}
    assert asked == printed


def test_a_full_history_kept_sorted_as_samples_come_and_go_equals_a_fresh_summary() -> None:
    # more finishes than the 1,000 samples a service keeps: the oldest drop out as new come
    rng = random.Random(9)
    d = Driver(parse_config(ONE_LONG_LINE), datetime(2026, 11, 25, 0, 0, 30, tzinfo=TZ))
    d("open_window", window=1)
    est = d.hall.eta
    for i in range(1100):
        d("take_ticket", service="X")
        d("call_next", window=1)
        d.later(seconds=rng.uniform(5, 60))  # the day stays the same day
        d("no_show" if i % 50 == 0 else "finish", window=1)
        if i % 100 == 0 or i > 990:
            assert est.service_time("X") == Estimator(d.hall).service_time("X")
    assert len(d.hall.state.service_samples["X"]) == 1000


def test_a_run_leaves_no_cyclic_garbage_for_the_collector() -> None:
    # a busy day makes thousands of runs: each is freed by reference counting when dropped,
    # so the cyclic collector's passes (on the event loop) have none of them to walk
    d = busy_day(2)
    at = d.now.timestamp()
    gc.collect()
    gc.disable()
    try:
        for k in range(20):
            d.hall.eta.forecast(
                at + k, ghosts=[("X", "normal")], targets=[ghost_key("X", "normal")]
            )
            d.hall.eta._kept.valid = False
            d.hall.eta.new_ticket_min("Y", "normal", at + k)
        assert gc.collect() == 0
    finally:
        gc.enable()
