"""The engine's periodic snapshots: when one is due, the snapshot process makes it aside
(hallctl/snapshot_process.py) and the daemon's own journal writer saves it.

A snapshot is an optimisation (a restart folds the latest one and the events after it): one
that fails is logged and skipped, the next one is due ``every`` events later, and nothing else
changes. One is made at a time. The engine composes this and ends it with its writer
(``async with``): the process still running then is killed and reaped.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import structlog

from hallctl.config.models import HallConfig
from hallctl.disk_full import is_disk_full
from hallctl.journal import Journal
from hallctl.snapshot_process import SnapshotFailed, SnapshotProcess

__all__ = ["SNAPSHOT_EVERY", "Snapshots"]

log = structlog.get_logger("hallctl.engine")  # the events keep the names they always had

SNAPSHOT_EVERY = 20_000


class Snapshots:
    """Counts the durable events and has a snapshot made when ``every`` have come since the
    last; ``busy`` while one is being made."""

    def __init__(self, config: HallConfig, journal: Journal, every: int = SNAPSHOT_EVERY) -> None:
        self.every = every
        self.since = 0  # durable events since the last snapshot (a restart: those replayed)
        self._journal = journal
        self.process = SnapshotProcess(config, journal.path)
        self._making: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._making is not None

    async def __aenter__(self) -> Snapshots:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def published(self, count: int, seq: int, *, quiet: bool) -> None:
        """``count`` more events are durable, up to ``seq``. ``quiet``: nothing is gathered
        for the next batch (a snapshot then starts before the waiters wake and gather one)."""
        self.since += count
        if self.since >= self.every and quiet and self._making is None:
            # Its own task: the writer goes on committing while the snapshot is made and saved.
            self.since = 0
            self._making = asyncio.create_task(self._aside(seq), name="snapshot")
            self._making.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._making = None
        if not task.cancelled() and task.exception() is not None:
            log.error("engine.snapshot_failed", error=repr(task.exception()))

    async def _aside(self, seq: int) -> None:
        """Have the snapshot process make the state as of ``seq``; save what it hands back."""
        try:
            made = await self.process.make(seq)
        except SnapshotFailed as e:
            # an optimisation only: the next one folds from the previous snapshot
            log.warning("engine.snapshot_skipped", reason=str(e), detail=e.detail)
            return
        if made.blob:  # else one at `seq` is there already
            await self.save(made.seq, made.blob, replayed=made.replayed)

    async def wait(self) -> None:
        """Until the snapshot being made, if any, is saved or skipped."""
        task = self._making
        if task is not None:
            await asyncio.wait([task])

    async def stop(self) -> None:
        """End the snapshot being made (nothing of it is saved) and the snapshot process: one
        writer of snapshots at a time. A snapshot due later starts a fresh process."""
        task = self._making
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await self.process.close()

    async def save(self, seq: int, blob: bytes, **facts: int) -> None:
        """Save a snapshot with the journal's writer (in a thread); a full disk skips it."""
        try:
            await asyncio.to_thread(self._journal.save_snapshot, seq, blob)
        except Exception as e:
            if not is_disk_full(e, self._journal.path.parent):
                raise
            log.warning("engine.snapshot_skipped", reason="disk full")  # an optimisation only
            return
        log.info("engine.snapshot", seq=seq, bytes=len(blob), **facts)
