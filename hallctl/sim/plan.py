"""Staffing planner: how many windows to open per service per half hour.

1. **Erlang C first**: for every service and half hour, the fewest windows for which ``share``
   of citizens wait at most the service's ``target_wait_min`` (hall file), treating the service
   as its own M/M/c line at that half hour's arrival rate and its mean service time.
2. **The simulator judges**: windows are opened to match (each service's count taken from the
   windows that list it, level 1 first), the day is simulated with the hall's real calling
   policy, and every half hour whose tickets miss the target gets one more window; repeated up to
   ``rounds`` times. Shared windows and levels break Erlang C's assumptions; the simulation does
   not make them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from hallctl.config.models import HallConfig
from hallctl.sim.erlang import windows_needed
from hallctl.sim.hallday import DayResult, HallDay
from hallctl.sim.scenario import Pause, Scenario, WindowPlan

SLOT_MIN = 30


@dataclass
class Plan:
    slots: list[time]
    erlang: dict[str, list[int]]  # service → windows per slot, Erlang C
    final: dict[str, list[int]]  # after the simulator's corrections
    met: dict[str, list[float | None]] = field(default_factory=dict)  # share within target
    rounds: int = 0


def _slots(scenario: Scenario) -> list[time]:
    out, m = [], scenario.start.hour * 60 + scenario.start.minute
    end = scenario.end.hour * 60 + scenario.end.minute
    while m < end:
        out.append(time(m // 60, m % 60))
        m += SLOT_MIN
    return out


def erlang_plan(config: HallConfig, scenario: Scenario, share: float) -> dict[str, list[int]]:
    slots = _slots(scenario)
    plan: dict[str, list[int]] = {}
    for code, sp in scenario.services.items():
        target_s = config.service(code).target_wait_min * 60.0
        service_s = sp.service.mean_min * 60.0
        plan[code] = [windows_needed(sp.rate_at(t), service_s, target_s, share) for t in slots]
    return plan


def assign(config: HallConfig, counts: dict[str, list[int]], n_slots: int) -> list[set[int]]:
    """Which windows are open in each slot: each service takes its count from the windows that
    list it (level 1 first, then the fewest other services), never one window twice."""
    order = {
        code: sorted(
            (w for w in config.windows if any(ws.service == code for ws in w.services)),
            key=lambda w: (
                next(ws.level for ws in w.services if ws.service == code),
                len(w.services),
                w.number,
            ),
        )
        for code in counts
    }
    open_sets: list[set[int]] = []
    for i in range(n_slots):
        used: set[int] = set()
        # scarce services first: those with the fewest windows able to serve them
        for code in sorted(counts, key=lambda c: (len(order[c]), c)):
            want = counts[code][i]
            for w in order[code]:
                if want <= 0:
                    break
                if w.number not in used:
                    used.add(w.number)
                    want -= 1
        open_sets.append(used)
    return open_sets


def _with_schedule(
    scenario: Scenario, open_sets: list[set[int]], slots: list[time], numbers: list[int]
) -> Scenario:
    windows: dict[int, WindowPlan] = {}
    for n in numbers:
        pauses = []
        for i, t in enumerate(slots):
            if n not in open_sets[i]:
                end = slots[i + 1] if i + 1 < len(slots) else scenario.end
                pauses.append(Pause.model_validate({"from": t, "to": end}))
        if len(pauses) == len(slots):
            windows[n] = WindowPlan(closed=True)
        else:
            base = scenario.window(n)
            windows[n] = WindowPlan(pace=base.pace, pauses=pauses)
    return scenario.model_copy(update={"windows": windows})


def _met(config: HallConfig, day: DayResult, slots: list[time]) -> dict[str, list[float | None]]:
    tz = config.hall.tz
    hits: dict[str, list[list[int]]] = {c: [[0, 0] for _ in slots] for c in day.scenario.services}
    first = slots[0].hour * 60 + slots[0].minute
    for t in day.tickets:
        if t.wait_min is None or t.service not in hits:
            continue
        local = datetime.fromtimestamp(t.issued_at, tz)
        i = (local.hour * 60 + local.minute - first) // SLOT_MIN
        if 0 <= i < len(slots):
            cell = hits[t.service][i]
            cell[1] += 1
            cell[0] += t.wait_min <= config.service(t.service).target_wait_min
    return {c: [h / n if n else None for h, n in cells] for c, cells in hits.items()}


def plan(
    config: HallConfig, scenario: Scenario, *, share: float = 0.9, rounds: int = 3, seeds: int = 3
) -> Plan:
    scenario.check(config)
    slots = _slots(scenario)
    first = erlang_plan(config, scenario, share)
    counts = {c: list(v) for c, v in first.items()}
    numbers = [w.number for w in config.windows]
    result = Plan(slots=slots, erlang=first, final=counts)
    for r in range(rounds + 1):
        open_sets = assign(config, counts, len(slots))
        sc = _with_schedule(scenario, open_sets, slots, numbers)
        met = _pooled(config, sc, slots, seeds)
        result.met, result.rounds = met, r
        short = [
            (c, i)
            for c, row in met.items()
            for i, m in enumerate(row)
            if m is not None and m < share
        ]
        if not short or r == rounds:
            break
        for c, i in short:
            serving = sum(1 for w in config.windows if any(ws.service == c for ws in w.services))
            if counts[c][i] < serving:
                counts[c][i] += 1
    return result


def _pooled(
    config: HallConfig, scenario: Scenario, slots: list[time], seeds: int
) -> dict[str, list[float | None]]:
    """Share within target per service and slot, over several simulated days."""
    totals: dict[str, list[list[float]]] = {}
    for seed in range(1, seeds + 1):
        day = HallDay(config, scenario, estimate=False, seed=seed).run()
        for c, row in _met(config, day, slots).items():
            acc = totals.setdefault(c, [[0.0, 0.0] for _ in slots])
            for i, m in enumerate(row):
                if m is not None:
                    acc[i][0] += m
                    acc[i][1] += 1
    return {c: [s / n if n else None for s, n in row] for c, row in totals.items()}


def render(p: Plan, config: HallConfig, share: float) -> str:
    codes = list(p.final)
    lines = [
        f"windows to open per half hour: Erlang C → after the simulator ({p.rounds} correction "
        f"round(s)); % = share of citizens who waited ≤ the service's target in the simulation",
        f"{'time':<7}"
        + "".join(f"{c + ' (' + str(config.service(c).target_wait_min) + 'm)':>18}" for c in codes),
    ]
    for i, t in enumerate(p.slots):
        cells = []
        for c in codes:
            m = p.met.get(c, [None] * len(p.slots))[i]
            pct = "  -" if m is None else f"{100 * m:3.0f}"
            flag = "!" if m is not None and m < share else " "
            cells.append(f"{p.erlang[c][i]:>6} → {p.final[c][i]:<3}{pct}%{flag}")
        want = sum(p.final[c][i] for c in codes)
        have = len(config.windows)
        used = f"{min(want, have)}/{have}" + ("*" if want > have else " ")
        lines.append(f"{t.strftime('%H:%M'):<7}{used:>9}" + "".join(f"{x:>18}" for x in cells))
    lines.append(f"! = below the target share ({share:.0%}) even after the corrections")
    lines.append("* = the plan asks for more windows than the hall has: open all, or add staff")
    return "\n".join(lines)
