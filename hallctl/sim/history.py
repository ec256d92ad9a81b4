"""A scenario from the hall's own journal: the last N weeks of one weekday.

- arrivals: tickets issued per service per half hour, averaged over the days found, as a
  Poisson rate for that half hour; green-channel and appointment shares per service;
- service times: each call's window occupancy (call to finish, or to 过号) on the hall clock, as
  an empirical distribution per service;
- no-shows: the share of calls that ended in 过号.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

from hallctl.config import HallConfig
from hallctl.journal import Journal
from hallctl.sim.scenario import Distribution, Rate, Scenario, ServicePlan

SLOT_MIN = 30


def history_scenario(
    config: HallConfig, journal_path: Path, *, weekday: int, weeks: int, today: date
) -> Scenario:
    """``weekday``: 0 = Monday. Days are the ``weeks`` most recent such days before ``today``."""
    days: set[str] = set()
    d = today - timedelta(days=1)
    while len(days) < weeks and d > today - timedelta(weeks=weeks + 1):
        if d.weekday() == weekday:
            days.add(d.isoformat())
        d -= timedelta(days=1)
    arrivals: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    channels: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    called: dict[tuple[str, str], tuple[float, str]] = {}
    samples: dict[str, list[float]] = defaultdict(list)
    no_shows: dict[str, int] = defaultdict(int)
    seen_days: set[str] = set()
    tz = config.hall.tz
    # Only read, perhaps beside the running daemon: the mark is the appender's to move.
    with Journal(journal_path, check_mark=False) as journal:
        for rec in journal.replay():
            if rec.day not in days:
                continue
            seen_days.add(rec.day)
            at = datetime.fromisoformat(rec.ts)
            if rec.type == "ticket.issued":
                data = json.loads(rec.data)
                local = at.astimezone(tz)
                slot = (local.hour * 60 + local.minute) // SLOT_MIN
                arrivals[data["service"]][slot] += 1
                channels[data["service"]][data["channel"]] += 1
            elif rec.type == "ticket.called":
                data = json.loads(rec.data)
                called[(rec.day, data["ticket"])] = (at.timestamp(), data["service"])
            elif rec.type in ("ticket.finished", "ticket.no_show", "ticket.transferred"):
                data = json.loads(rec.data)
                start = called.pop((rec.day, data["ticket"]), None)
                if start is not None and at.timestamp() > start[0]:
                    if rec.type == "ticket.no_show":  # the simulator plays no-shows itself
                        no_shows[start[1]] += 1
                    else:
                        samples[start[1]].append((at.timestamp() - start[0]) / 60.0)
    if not seen_days:
        raise ValueError(f"the journal has no {_WEEKDAYS[weekday]} in the last {weeks} weeks")
    n_days = len(seen_days)
    services: dict[str, ServicePlan] = {}
    first, last = 24 * 60, 0
    for s in config.services:
        slots = arrivals.get(s.code, {})
        rates = []
        for slot, count in sorted(slots.items()):
            start_min = slot * SLOT_MIN
            first, last = min(first, start_min), max(last, start_min + SLOT_MIN)
            rates.append(
                Rate.model_validate(
                    {
                        "from": _hm(start_min),
                        "to": _hm(start_min + SLOT_MIN),
                        "per_hour": count / n_days * 60 / SLOT_MIN,
                    }
                )
            )
        issued = sum(channels[s.code].values()) or 1
        mine = samples.get(s.code, [])
        dist = (
            Distribution(dist="empirical", samples_min=mine)
            if len(mine) >= 10
            else Distribution(dist="lognormal", mean_min=s.avg_service_min)
        )
        services[s.code] = ServicePlan(
            arrivals=rates,
            service=dist,
            green_share=channels[s.code]["green"] / issued,
            no_show=no_shows[s.code] / (len(mine) + no_shows[s.code]) if mine else 0.0,
        )
    return Scenario(
        name=f"{_WEEKDAYS[weekday]}, {n_days} day(s) of history",
        date=today.isoformat(),
        start=_hm(first) if first < last else time(9, 0),
        end=_hm(min(last, 24 * 60 - 1)) if first < last else time(17, 0),
        services=services,
    )


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _hm(minutes: int) -> time:
    minutes = min(minutes, 24 * 60 - 1)
    return time(minutes // 60, minutes % 60)
