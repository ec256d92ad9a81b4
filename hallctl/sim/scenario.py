"""A simulated hall day: who comes when, how long they take, and what the windows do.

A scenario is YAML (``hallctl simulate --scenario FILE``), or derived from the hall file (every
service at a share ``load`` of what its windows can serve, flat over the hall's hours), or from
the journal's history (``--history``, see ``history.py``). Times of day are hall-local.
"""

from __future__ import annotations

import math
from datetime import time
from pathlib import Path
from random import Random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hallctl.config.models import HallConfig


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Rate(Strict):
    start: time = Field(alias="from")
    end: time = Field(alias="to")
    per_hour: float = Field(ge=0)


class Distribution(Strict):
    dist: Literal["exponential", "lognormal", "empirical", "fixed"] = "lognormal"
    mean_min: float = Field(8.0, gt=0)
    cv: float = Field(0.6, ge=0, description="lognormal: standard deviation ÷ mean")
    samples_min: list[float] = Field(default_factory=list, description="empirical: minutes")

    @model_validator(mode="after")
    def _samples(self) -> Distribution:
        if self.dist == "empirical":
            if not self.samples_min or min(self.samples_min) <= 0:
                raise ValueError("an empirical distribution needs positive samples_min")
            self.mean_min = sum(self.samples_min) / len(self.samples_min)
        return self

    def draw_s(self, rng: Random) -> float:
        m = self.mean_min * 60.0
        if self.dist == "exponential":
            return rng.expovariate(1.0 / m)
        if self.dist == "fixed" or (self.cv == 0 and self.dist == "lognormal"):
            return m
        if self.dist == "empirical":
            return rng.choice(self.samples_min) * 60.0
        sigma2 = math.log(1.0 + self.cv**2)
        return rng.lognormvariate(math.log(m) - sigma2 / 2.0, math.sqrt(sigma2))


class Transfer(Strict):
    to: str
    p: float = Field(ge=0, le=1)


class ServicePlan(Strict):
    arrivals: list[Rate] = Field(default_factory=list)
    service: Distribution = Field(default_factory=Distribution)
    green_share: float = Field(0.0, ge=0, le=1)
    appointment_share: float = Field(0.0, ge=0, le=1)
    no_show: float = Field(0.0, ge=0, le=1)
    no_show_wait_min: float = Field(1.0, ge=0, description="a window waits this long, then 过号")
    transfer: Transfer | None = None

    def rate_at(self, t: time) -> float:
        return sum(r.per_hour for r in self.arrivals if r.start <= t < r.end) / 3600.0

    def max_rate(self) -> float:
        return max((r.per_hour for r in self.arrivals), default=0.0) / 3600.0


class Pause(Strict):
    start: time = Field(alias="from")
    end: time = Field(alias="to")


class WindowPlan(Strict):
    pace: float = Field(1.0, gt=0, description="service time multiplier of who sits there")
    open: time | None = None
    close: time | None = None
    pauses: list[Pause] = Field(default_factory=list)
    closed: bool = False


class Scenario(Strict):
    name: str = "day"
    date: str = Field("2026-03-02", pattern=r"^\d{4}-\d{2}-\d{2}$")
    start: time = time(9, 0)
    end: time = time(17, 0)
    services: dict[str, ServicePlan]
    windows: dict[int, WindowPlan] = Field(default_factory=dict)
    seed: int = 1

    def window(self, number: int) -> WindowPlan:
        return self.windows.get(number) or WindowPlan()

    def check(self, config: HallConfig) -> None:
        codes = {s.code for s in config.services}
        numbers = {w.number for w in config.windows}
        bad = [c for c in self.services if c not in codes]
        bad += [
            p.transfer.to
            for p in self.services.values()
            if p.transfer and p.transfer.to not in codes
        ]
        if bad:
            raise ValueError(f"scenario names services the hall file lacks: {', '.join(bad)}")
        if unknown := [str(n) for n in self.windows if n not in numbers]:
            raise ValueError(f"scenario names windows the hall file lacks: {', '.join(unknown)}")


def load_scenario(path: Path) -> Scenario:
    from ruamel.yaml import YAML

    return Scenario.model_validate(YAML(typ="safe").load(path.read_text(encoding="utf-8")))


def from_hall(config: HallConfig, load: float = 0.85) -> Scenario:
    """Every service at ``load`` of what the windows listing it can serve, over the hall's hours."""
    share: dict[str, float] = {}
    for w in config.windows:
        for ws in w.services:
            share[ws.service] = share.get(ws.service, 0.0) + 1.0 / len(w.services)
    hours = config.hall.hours
    start = min((r.start for r in hours), default=time(9, 0))
    end = max((r.end for r in hours), default=time(17, 0))
    services = {}
    for s in config.services:
        per_hour = load * share.get(s.code, 0.0) * 60.0 / s.avg_service_min
        services[s.code] = ServicePlan(
            arrivals=[Rate.model_validate({"from": start, "to": end, "per_hour": per_hour})],
            service=Distribution(dist="lognormal", mean_min=s.avg_service_min, cv=0.6),
            green_share=0.02 if s.green_channel else 0.0,
        )
    return Scenario(
        name=f"{config.hall.id} at load {load}", start=start, end=end, services=services
    )
