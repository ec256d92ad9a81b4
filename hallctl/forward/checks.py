"""`hallctl check` for the `sinks:` list: what the schema cannot see (a 好差评 mapping file)."""

from __future__ import annotations

from hallctl.config.models import HallConfig
from hallctl.config.problem import Problem
from hallctl.forward.config import HaochapingSink


def check_sinks(cfg: HallConfig) -> list[Problem]:
    problems = []
    for i, sink in enumerate(cfg.sinks):
        if isinstance(sink, HaochapingSink):
            from hallctl.forward.haochaping import check

            problems += [Problem(("sinks", i, "mapping"), msg) for msg in check(sink, cfg)]
    return problems
