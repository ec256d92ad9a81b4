"""Stands in for HallEngine.execute in the attendance tests (the real engine replaces it).

It behaves like the engine where the attendance code depends on it: a repeated request_id
returns the first answer and records nothing new; `down` makes it unreachable; `reject`
makes it answer ok: false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HallRecorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []  # every call, repeats included
        self.applied: list[dict[str, Any]] = []  # what changed hall state (first of each id)
        self._answers: dict[str, dict[str, Any]] = {}
        self.down = False
        self.reject = False

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]:
        if self.down:
            raise ConnectionError("hall engine unavailable")
        self.calls.append(dict(request))
        request_id = request.get("request_id")
        if isinstance(request_id, str) and request_id in self._answers:
            return self._answers[request_id]
        if self.reject:
            answer: dict[str, Any] = {
                "ok": False,
                "error": {"code": "unknown_staff", "message": "no such staff"},
            }
        else:
            self.applied.append(dict(request))
            answer = {"ok": True, "result": {}}
        if isinstance(request_id, str):
            self._answers[request_id] = answer
        return answer

    def punches(self) -> list[tuple[str, str, str, str]]:
        """(action, staff, device, time) of every applied request, in order."""
        return [(r["action"], r["staff"], r["device"], r["time"]) for r in self.applied]
