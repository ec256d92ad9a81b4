"""The docs' tables list what the code has: every request action, every retained topic."""

from __future__ import annotations

import json
import re
import typing
from datetime import datetime
from pathlib import Path

from hallctl.config import parse_config
from hallctl.hall import commands
from hallctl.hall.views import retained_state
from tests.hall.conftest import SMALL_HALL, TZ, Driver

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _actions() -> set[str]:
    found = set()
    for obj in vars(commands).values():
        if isinstance(obj, type) and issubclass(obj, commands.Command) and obj.model_fields.get(
            "action"
        ):
            found.update(typing.get_args(obj.model_fields["action"].annotation))
    return found


def test_the_request_table_lists_every_action() -> None:
    table = (DOCS / "architecture.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)`(?: / `([a-z_]+)`)?", table, re.M))
    names = {n for pair in documented for n in pair if n}
    assert {"rejoin", "take_ticket", "evaluate"} <= _actions()
    assert _actions() - names == set()


def test_the_topic_table_lists_every_retained_topic_with_a_true_example() -> None:
    hall = Driver(parse_config(SMALL_HALL), datetime(2026, 11, 25, 9, 30, tzinfo=TZ))
    hall("take_ticket", service="BDC")
    hall.later(minutes=31)
    hall("tick")
    state = retained_state(hall.hall)
    kinds = {re.sub(r"/(\d+|[A-Z]+)$", "", key) for key in state}
    mqtt = (DOCS / "mqtt.md").read_text()
    topics = set(re.findall(r"^\| `<base>/(state/[a-z]+)", mqtt, re.M))
    # the hall's own retained topics, and the one a component adds (the sinks' health)
    assert topics == kinds | {"state/sinks"}
    # the example of state/alarms has the shape the hall publishes
    m = re.search(r"`hallctl/xa-zwfw/state/alarms`.*?```json\n(.*?)```", mqtt, re.S)
    assert m, "no state/alarms example"
    example = json.loads(m.group(1))
    (alarm,) = state["state/alarms"]["alarms"]
    assert set(example["alarms"][0]) == set(alarm)
    assert alarm["kind"] == example["alarms"][0]["kind"] == "long_wait"
