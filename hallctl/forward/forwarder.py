"""The generic forwarder: journal records past a sink's own cursor, to that sink, in order.

One forwarder per sink, each with its own durable cursor `sink:<name>` in the journal, so a
slow or dead back end holds back only itself: the hall writes its journal regardless, other
sinks read on, and retention never prunes past the slowest cursor (the daemon passes every
sink's cursor to `Journal.prune`).

The loop: read a batch after the cursor, drop the records the sink's filters exclude, hand the
rest to `Sink.deliver`, and only when it returns (the back end has durably accepted them) move
the cursor to the batch's last seq. A failure retries the same batch with exponential backoff,
for as long as it takes; a rejection (4xx) parks the sink with an alarm and retries rarely.
The cursor is saved with the next read once `SAVE_EVERY` batches have got through since the
last save, and at once when the forwarder reaches the journal's end (a running hall: every
batch), fails, or stops. After a crash, what was sent after the saved cursor is sent again:
at most `SAVE_EVERY` + `pipeline` batches; back ends de-duplicate by event id.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

import structlog

from hallctl.disk_full import is_disk_full
from hallctl.forward.config import SinkCommon
from hallctl.forward.contract import EnvelopeSink, Sink, SinkRejected, SinkUnavailable
from hallctl.forward.health import SinkHealth
from hallctl.journal import Journal, Record

log = structlog.get_logger(__name__)

# Batches delivered between two cursor saves while draining a backlog. A save is a write
# transaction on the journal's one writer: 100-180 µs of CPU as the forwarder spaces them,
# 0.3 µs a message at 500 a batch, a fifth of what forwarding costs beyond a bare MQTT loop
# (docs/performance.md). Ten batches bound what a crash re-sends to 12 batches of MQTT (6,000
# events), which the back ends drop by id.
SAVE_EVERY = 10


_R = TypeVar("_R")
_B = TypeVar("_B")
# A batch on its way: (last seq, wanted count, first record's time, its delivery, or None when
# the filters wanted none of it)
_InFlight = tuple[int, int, datetime, "asyncio.Task[Exception | None] | None"]
# Batches the back end acknowledged and whose cursor is not saved yet: (last seq, records,
# batches)
_Delivered = tuple[int, int, int]


async def _settled(deliver: Callable[[_B], Awaitable[None]], batch: _B) -> Exception | None:
    """A delivery's failure is returned, and raised when its batch's turn comes: the batches
    before it that did get through still move the cursor. (The delivery starts inside the
    task: a task cancelled before it runs leaves no coroutine never awaited.)"""
    try:
        await deliver(batch)
    except Exception as exc:
        return exc
    return None


class SinkEngine(Protocol):
    """The part of `HallEngine` a forwarder uses."""

    @property
    def hall_id(self) -> str: ...
    @property
    def journal(self) -> Journal: ...
    async def wait_beyond(self, seq: int) -> int: ...
    def last_seq(self) -> int: ...
    def now(self) -> datetime: ...
    async def execute(self, request: dict[str, Any]) -> dict[str, Any]: ...


class RecordFilter:
    """A sink's view of the journal: the event types it wants, minus the fields it must not get."""

    def __init__(self, config: SinkCommon) -> None:
        self._config = config
        self._drop = [tuple(path.split(".")) for path in config.drop_fields]
        self._wants: dict[str, bool] = {}

    @property
    def passes_all(self) -> bool:
        """Every record, unchanged: the forwarder skips the per-record check (hot path)."""
        c = self._config
        return c.events == ["*"] and not c.exclude_events and not self._drop

    def __call__(self, records: Sequence[Record]) -> list[Record]:
        out = []
        for record in records:
            wanted = self._wants.get(record.type)
            if wanted is None:
                wanted = self._wants[record.type] = self._config.wants(record.type)
            if wanted:
                out.append(self._strip(record) if self._drop else record)
        return out

    def _strip(self, record: Record) -> Record:
        data = json.loads(record.data)
        for path in self._drop:
            node = data
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(path[-1], None)
        return replace(record, data=json.dumps(data, ensure_ascii=False, separators=(",", ":")))


class SinkForwarder:
    """Forwards to one sink until cancelled; never gives up and never skips a record."""

    def __init__(self, engine: SinkEngine, config: SinkCommon, sink: Sink, type_: str) -> None:
        self._engine = engine
        self._config = config
        self._sink = sink
        self._filter = RecordFilter(config)
        self.health = SinkHealth(name=config.name, type=type_)
        self.changed = asyncio.Event()  # set whenever health changes (for the retained topic)
        self._alarm_raised = False

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def cursor_name(self) -> str:
        return self._config.cursor

    def report(self) -> dict[str, Any]:
        return self.health.report(self._engine.last_seq(), self._engine.now())

    async def run(self) -> None:
        cursor, new = await asyncio.to_thread(self._start_cursor)
        if new:
            await self._save_cursor(self._engine.journal, cursor)
        self.health.cursor = cursor
        log.info("sink.resume", sink=self.name, cursor=cursor)
        delay = self._config.retry_min_s
        while True:
            try:
                await self._sink.open()
                await self._forward()
            except SinkRejected as exc:
                self._failed("parked", exc)
                await self._raise_alarm(str(exc))
                log.error("sink.parked", sink=self.name, error=str(exc),
                          retry_in_s=self._config.park_retry_s)
                await self._close()
                await asyncio.sleep(self._config.park_retry_s)
                continue
            except asyncio.CancelledError:
                await self._close()
                raise
            except Exception as exc:
                self._failed("retrying", exc)
                if not isinstance(exc, SinkUnavailable):
                    log.exception("sink.failed", sink=self.name)
                wait = delay * random.uniform(0.5, 1.0)  # jitter: many halls, one back end
                log.warning("sink.retry", sink=self.name, error=self.health.last_error,
                            retry_in_s=round(wait, 2))
                await self._close()
                await asyncio.sleep(wait)
                delay = min(delay * 2, self._config.retry_max_s)
                continue
            delay = self._config.retry_min_s

    def _start_cursor(self) -> tuple[int, bool]:
        """The sink's cursor, and whether it is new: placed by `start` (now, today, a day,
        beginning)."""
        journal = self._engine.journal
        name = self._config.cursor
        if journal.has_cursor(name):
            return journal.cursor(name), False
        start = self._config.start
        if start == "beginning":
            seq = 0
        elif start == "now":
            seq = journal.last_seq()
        else:
            day = self._engine.now().date().isoformat() if start == "today" else start
            seq = journal.seq_before_day(day)
        log.info("sink.created", sink=self.name, start=start, cursor=seq)
        return seq, True

    async def _forward(self) -> None:
        # TaskGroup failures arrive as a group; the retry logic wants the sink's own error.
        try:
            await self._pipeline()
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None

    async def _pipeline(self) -> None:
        """Up to `sink.pipeline` batches in flight (default 1): the next batch is read and
        sent while the previous one waits for its acknowledgement, for sinks whose wire keeps
        batches in order (MQTT, NATS). The cursor only ever covers batches the back end has
        acknowledged, in order; it is saved in the same worker-thread trip as a later read
        (no hop of its own), every `SAVE_EVERY` batches or at the journal's tail."""
        depth = max(1, int(getattr(self._sink, "pipeline", 1)))
        read = self.health.cursor
        # (last seq, records, batches) acknowledged by the back end, cursor not saved yet
        delivered: _Delivered | None = None
        window: deque[_InFlight] = deque()
        # The last read came back short: the journal's end is near, so reading ahead would
        # mostly find nothing (a worker-thread trip for it). At the tail (a running hall) the
        # next read waits for the batch in flight, and takes everything written meanwhile.
        at_tail = False
        try:
            async with asyncio.TaskGroup() as tg:
                while True:
                    if len(window) < depth and not (window and at_tail):
                        saving = None
                        if delivered is not None and (at_tail or delivered[2] >= SAVE_EVERY):
                            saving, delivered = delivered, None
                        started, at_tail = await self._save_and_start(tg, saving, read)
                        if started is not None:
                            if not window:
                                self.health.oldest_pending = started[2]
                            window.append(started)
                            read = started[0]
                            continue
                    if not window:
                        if delivered is not None:  # caught up: saved before waiting
                            saving, delivered = delivered, None
                            await self._save_cursor(self._engine.journal, saving[0])
                            await self._saved(saving)
                        self._caught_up()
                        await self._engine.wait_beyond(read)
                        continue
                    last, count, _, task = window.popleft()
                    if task is not None and (error := await task) is not None:
                        if delivered is not None:  # the batches before it did get through
                            saving, delivered = delivered, None
                            await self._save_cursor(self._engine.journal, saving[0])
                            self._delivered(*saving)
                        raise error
                    # Only now: the back end holds every wanted record up to `last`. The
                    # cursor is saved with a later read (SAVE_EVERY), at the tail with the
                    # next one, once the batch still in flight is in too (both in one go).
                    delivered = ((last, count, 1) if delivered is None
                                 else (last, delivered[1] + count, delivered[2] + 1))
                    if window:
                        self.health.oldest_pending = window[0][2]
        except asyncio.CancelledError:
            if delivered is not None:  # stopping: what got through is not sent again
                try:
                    await asyncio.shield(self._save_cursor(self._engine.journal, delivered[0]))
                except Exception:  # a journal closed under us: sent again after the restart
                    log.warning("sink.cursor_not_saved", sink=self.name, seq=delivered[0],
                                reason="stopping", exc_info=True)
                else:
                    self._delivered(*delivered)
            raise

    async def _save_and_start(
        self, tg: asyncio.TaskGroup, saving: _Delivered | None, after: int
    ) -> tuple[_InFlight | None, bool]:
        """Save the cursor past a delivered batch, read the next batch and start delivering it:
        one worker-thread trip. Returns the batch started (None when nothing is left to read)
        and whether the read came back short of a whole batch."""
        journal, size, sink = self._engine.journal, self._config.batch, self._sink
        save = saving[0] if saving is not None else None
        started: _InFlight | None = None
        short = True
        if self._filter.passes_all and isinstance(sink, EnvelopeSink):
            ready = await asyncio.to_thread(self._save_then, save, partial(
                journal.read_envelopes_after, after, size, self._engine.hall_id))
            if ready is not None:
                short = len(ready.bodies) < size
                task = tg.create_task(_settled(sink.deliver_envelopes, ready))
                started = (ready.last_seq, len(ready.bodies),
                           datetime.fromisoformat(ready.first_ts), task)
        else:
            records = await asyncio.to_thread(
                self._save_then, save, partial(journal.read_after, after, size))
            if records:
                short = len(records) < size
                wanted = records if self._filter.passes_all else self._filter(records)
                maybe = tg.create_task(_settled(sink.deliver, wanted)) if wanted else None
                started = (records[-1].seq, len(wanted), datetime.fromisoformat(records[0].ts),
                           maybe)
        if saving is not None:
            await self._saved(saving)
        return started, short

    async def _saved(self, saving: _Delivered) -> None:
        self._delivered(*saving)
        if self._alarm_raised:
            await self._clear_alarm()

    def _save_then(self, seq: int | None, read: Callable[[], _R]) -> _R:
        """On the worker thread: save the cursor (when a batch was delivered), then read."""
        if seq is not None:
            self._save_cursor_now(self._engine.journal, seq)
        return read()

    async def _save_cursor(self, journal: Journal, seq: int) -> None:
        await asyncio.to_thread(self._save_cursor_now, journal, seq)

    def _save_cursor_now(self, journal: Journal, seq: int) -> None:
        try:
            journal.set_cursor(self._config.cursor, seq)
        except Exception as exc:
            if not is_disk_full(exc, journal.path.parent):
                raise
            # Keep forwarding: the cursor is saved with a later batch once space is back (at
            # worst these are sent again after a restart: at least once, de-duplicated by id).
            log.warning("sink.cursor_not_saved", sink=self.name, seq=seq, reason="disk full")

    def _delivered(self, cursor: int, count: int, batches: int) -> None:
        h = self.health
        h.cursor = cursor
        h.delivered += count
        h.batches += batches
        h.last_ok_at = self._engine.now().isoformat(timespec="seconds")
        if h.state != "ok":
            h.state = "ok"
            self.changed.set()

    def _caught_up(self) -> None:
        if self.health.oldest_pending is not None or self.health.state != "ok":
            self.health.oldest_pending = None
            self.health.state = "ok"
        self.changed.set()

    def _failed(self, state: str, exc: BaseException) -> None:
        h = self.health
        h.state = "parked" if state == "parked" else "retrying"
        h.last_error = str(exc) or type(exc).__name__
        h.last_error_at = self._engine.now().isoformat(timespec="seconds")
        self.changed.set()

    async def _close(self) -> None:
        try:
            await self._sink.close()
        except Exception:
            log.debug("sink.close_failed", sink=self.name, exc_info=True)

    async def _raise_alarm(self, detail: str) -> None:
        await self._alarm(True, detail)

    async def _clear_alarm(self) -> None:
        await self._alarm(False, None)

    async def _alarm(self, active: bool, detail: str | None) -> None:
        # A journaled device alarm: it shows in `hallctl status`, on the supervisor's page and
        # in every other sink, and it clears itself when the sink delivers again.
        response = await self._engine.execute({
            "action": "device_alarm",
            "device": self._config.device,
            "alarm": "rejected",
            "active": active,
            "detail": detail[:200] if detail else None,
            "source": "sinks",
        })
        if response.get("ok"):
            self._alarm_raised = active
        else:
            log.warning("sink.alarm_failed", sink=self.name, error=response.get("error"))
