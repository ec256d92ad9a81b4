"""Runs requests through the pure core at given times and journals the events like the engine."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hallctl.config import HallConfig
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from hallctl.ids import new_id
from hallctl.journal import Journal, PendingEvent


class Recorder:
    def __init__(self, config: HallConfig, journal: Journal | None = None) -> None:
        self.hall = Hall(config)
        self.tz = config.hall.tz
        self.journal = journal
        self.records: list[tuple[str, str, str, str]] = []  # (day, type, ts, data JSON)

    def at(self, now: datetime, action: str, **fields: Any) -> dict[str, Any]:
        try:
            out = self.hall.execute(parse_command({"action": action, **fields}), now)
            events, result = out.events, out.result
        except HallError as err:
            events, result = err.events, {"error": err.code}
        ts = now.astimezone(self.tz).isoformat(timespec="milliseconds")
        pending = []
        for type_, data in events:
            day = data["day"] if type_ == "day.started" else self.hall.state.day
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            self.records.append((day, type_, ts, text))
            pending.append(PendingEvent(new_id(), type_, ts, day, None, 1, text))
        if self.journal is not None and pending:
            self.journal.append(pending)
        return result

    def day_records(self, day: str) -> list[tuple[str, str, str]]:
        return [(t, ts, d) for dd, t, ts, d in self.records if dd == day]
