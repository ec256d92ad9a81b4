"""The engine on a full disk: refuse changes, keep answering reads, raise an alarm, resume.

When the journal cannot grow, nothing can be acknowledged. The batch that failed (and the one
gathering behind it) is answered `disk_full`; memory, already ahead of the journal, is rebuilt
from it; from then on every request that could change the hall is refused `disk_full` at once
(nothing changes, and the request id is not used up: a retry with it works later), while
`status` and the retained state keep being served, with a live `disk_full` alarm in
`state/alarms` and in `status`. The alarm cannot be journaled while the disk is full.

At most every PROBE_S, a request that would write (the daemon's clock ticks every 5 s, so
this happens without traffic too) first tries to journal the alarm's history
(`alarm.raised` + `alarm.cleared` for the outage): if that is durable, space is back and the
request goes on. Resuming needs no restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import structlog

from hallctl.disk_full import LOW_SPACE, disk_full_message, free_bytes
from hallctl.hall.errors import HallError

if TYPE_CHECKING:
    from hallctl.commit_batch import Batch
    from hallctl.engine import HallEngine

log = structlog.get_logger("hallctl.engine")

PROBE_S: Final = 2.0
ALARM: Final = "disk_full"


class DiskFullError(Exception):
    """A batch could not be made durable because the disk is full (answered `disk_full`)."""


class DiskWatch:
    def __init__(self, where: Path, clock: Callable[[], datetime]) -> None:
        self._where = where
        self._clock = clock
        self.since: datetime | None = None  # None: the disk is fine
        self._next_probe = 0.0
        self._probing = False

    @property
    def full(self) -> bool:
        return self.since is not None

    def error(self) -> HallError:
        return HallError(ALARM, disk_full_message(self._where))

    async def entered(self, engine: HallEngine, batch: Batch, exc: BaseException) -> None:
        """The writer met a full disk: fail what was pending and go back to the journal."""
        failed = [batch]
        pending = engine.take_pending()
        if pending is not None:
            failed.append(pending)
        if self.since is None:
            self.since = self._clock()
            log.error("engine.disk_full", path=str(self._where), error=str(exc),
                      free_bytes=free_bytes(self._where))
        self._next_probe = asyncio.get_running_loop().time() + PROBE_S
        # Memory holds these batches' events: rebuild it from the journal before any reader
        # can act on state that was never made durable. Writes are refused meanwhile.
        await engine.rebuild()
        for b in failed:
            engine.failed(b, DiskFullError())  # every waiter answers disk_full

    async def writable(self, engine: HallEngine) -> bool:
        """May a writing request go ahead? Probes (journals the alarm) when it is time."""
        if self.since is None:
            return True
        loop = asyncio.get_running_loop()
        if self._probing or loop.time() < self._next_probe:
            return False
        self._probing = True
        self._next_probe = loop.time() + PROBE_S
        try:
            free = await asyncio.to_thread(free_bytes, self._where)
            if free is not None and free < LOW_SPACE:
                return False
            since = self.since
            try:
                await engine.record(self._history(since))
            except DiskFullError:
                return False
            if self.since is since:
                self.since = None
                log.warning("engine.disk_space_back", path=str(self._where), free_bytes=free,
                            full_since=since.isoformat(timespec="seconds"))
            return True
        finally:
            self._probing = False

    def _history(self, since: datetime) -> list[tuple[str, dict[str, Any]]]:
        message = (f"disk full from {since.isoformat(timespec='seconds')} to "
                   f"{self._clock().isoformat(timespec='seconds')}: changes were refused")
        return [
            ("alarm.raised", {"alarm": ALARM, "kind": ALARM, "scope": None, "message": message}),
            ("alarm.cleared", {"alarm": ALARM, "kind": ALARM}),
        ]

    def _live_alarm(self) -> dict[str, Any]:
        assert self.since is not None
        return {"alarm": ALARM, "kind": ALARM, "scope": None,
                "message": f"{disk_full_message(self._where)}; changes are refused, "
                           "reads still work; resumes by itself when space is freed",
                "since": self.since.timestamp()}

    def annotate(self, action: str, response: dict[str, Any]) -> None:
        """Add the live alarm to a `status` answer."""
        if self.since is not None and action == "status":
            response["result"]["alarms"] = [*response["result"].get("alarms", []),
                                            self._live_alarm()]

    def annotate_state(self, state: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Add the live alarm to the retained `state/alarms`."""
        if self.since is not None:
            alarms = [*state.get("state/alarms", {}).get("alarms", []), self._live_alarm()]
            state["state/alarms"] = {"alarms": sorted(alarms, key=lambda a: a["alarm"])}
        return state
