"""The hall engine: the one door into the hall, async at the edge, pure core inside.

``execute(request)`` validates a request, runs it through the pure core, hands the events to the
journal and answers only once they are durable. Commands that arrive while a batch is being
written wait for the next one, so a burst costs one fsync per batch, not per command (group
commit). Durable records are then handed to subscribers (drivers) and waiters (forwarders).
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog

from hallctl.commit_batch import Batch
from hallctl.config.models import HallConfig
from hallctl.disk_full import is_disk_full
from hallctl.disk_watch import DiskFullError, DiskWatch
from hallctl.event_json import encode_event
from hallctl.forecast_refresh import refreshing
from hallctl.hall.commands import READ_ONLY, parse_command
from hallctl.hall.core import Event, Hall
from hallctl.hall.errors import HallError
from hallctl.hall.views import retained_state
from hallctl.ids import new_id
from hallctl.journal import EncodedEvent, Journal, Record, encode_json
from hallctl.pass_budget import PASS_BUDGET_S, PassBudget
from hallctl.privacy import hash_id, mask_id
from hallctl.snapshot import SNAPSHOT_FORMAT as SNAPSHOT_FORMAT
from hallctl.snapshot import fold
from hallctl.snapshot import snapshot_blob as snapshot_blob
from hallctl.snapshots import SNAPSHOT_EVERY as SNAPSHOT_EVERY
from hallctl.snapshots import Snapshots
from hallctl.wall_clock import WallClock

log = structlog.get_logger("hallctl.engine")

EVENT_VERSION = 1
QUIET_TRIES = 10  # batches the final snapshot waits for (commands still coming at shutdown)
RECENT_REQUESTS = 20_000
FREEZE_EVERY = 2_000  # events between gc.freeze() calls (see _freeze)
MAX_REQUEST_ID = 128  # as the request models say; a longer one is refused, and not kept

Clock = Callable[[], datetime]
_new_tuple = tuple.__new__


def ok(result: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error(err: HallError) -> dict[str, Any]:
    return {"ok": False, "error": err.to_dict()}


class Subscription:
    """Durable records in order. The engine hands each subscriber a batch's records at once
    (one queue item and one wake-up a batch, not a record); they are read one at a time."""

    def __init__(self, registry: list[asyncio.Queue[list[Record]]]) -> None:
        self._registry = registry
        self._q: asyncio.Queue[list[Record]] = asyncio.Queue()
        self._records: list[Record] = []
        self._next = 0
        registry.append(self._q)

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        while self._next >= len(self._records):
            self._records = await self._q.get()  # shared with the other subscribers: read only
            self._next = 0
        record = self._records[self._next]
        self._next += 1
        return record

    def close(self) -> None:
        if self._q in self._registry:
            self._registry.remove(self._q)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HallEngine:
    def __init__(
        self,
        config: HallConfig,
        journal: Journal,
        *,
        secret: bytes = b"",
        clock: Clock | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
        pass_budget: float = PASS_BUDGET_S,
    ) -> None:
        self.config = config
        self.hall_id = config.hall.id
        self.journal = journal
        self._secret = secret
        self._tz = config.hall.tz
        self._clock: Clock = clock or WallClock(self._tz)
        self._ts: tuple[datetime | None, str] = (None, "")  # a clock reading and its ``ts`` text
        self.hall = Hall(config)
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # ids whose answers are in the journal but not in _recent: only these need a lookup
        self._stored: set[str] = set()
        # request id → its batch and answer, until the batch is durable (a repeat waits for it)
        self._inflight: dict[str, tuple[Batch, dict[str, Any]]] = {}
        self._batch: Batch | None = None  # gathering
        self._writing: Batch | None = None  # being appended
        self._writer_wake = asyncio.Event()
        self._durable_seq = 0
        self._since_freeze = 0
        self._seq_changed = asyncio.Condition()
        self._subscribers: list[asyncio.Queue[list[Record]]] = []
        self._failed: BaseException | None = None
        self.snapshots = Snapshots(config, journal, snapshot_every)
        self.budget = PassBudget(pass_budget)  # the door's share of a loop pass
        self.disk = DiskWatch(self.journal.path.parent, self._clock)

    # ---- lifetime -----------------------------------------------------------------------

    def recover(self) -> int:
        """Rebuild today's state: the latest snapshot, then every event after it."""
        self.hall, after, count = self._rebuild()
        self._durable_seq = self.journal.last_seq()
        self.hall.state.last_seq = self._durable_seq
        today = self._clock().astimezone(self._tz).date()
        self._stored = self.journal.request_ids_since_day(
            (today - timedelta(days=1)).isoformat()
        )
        self.snapshots.since = count
        self._freeze()  # start-up's objects (modules, config, the recovered state) stay
        log.info("engine.recovered", snapshot_seq=after, replayed=count, seq=self._durable_seq)
        return count

    def _rebuild(self) -> tuple[Hall, int, int]:
        """The hall as the journal has it: (hall, snapshot seq, events replayed)."""
        return fold(self.config, self.journal)  # as the snapshot process folds it

    async def run(self) -> None:
        """The writer: turns queued batches into durable records. Run it in the TaskGroup.
        Meanwhile the wait forecast's refreshes are made in steps (hallctl/forecast_refresh.py)."""
        async with self.snapshots, refreshing(lambda: self.hall, self._clock, self.budget):
            await self._write_batches()

    async def _write_batches(self) -> None:
        while True:
            await self._writer_wake.wait()
            self._writer_wake.clear()
            if self.budget.waiting:
                # Commands a pass's budget put off join this batch (a batch as large as if they
                # had all run in one pass: a batch a pass would cost more fsyncs and CPU).
                await self.budget.through()
            batch, self._batch = self._batch, None
            if batch is None:
                continue
            self._writing = batch
            try:
                records = await asyncio.to_thread(
                    self.journal.append, batch.events, batch.responses
                )
            except Exception as e:
                if not is_disk_full(e, self.journal.path.parent):
                    self._fail(batch, e)
                    raise
                await self.disk.entered(self, batch, e)
                continue
            except BaseException as e:
                self._fail(batch, e)
                raise
            finally:
                self._writing = None
            # Published first: a snapshot it starts takes its first step before the waiters
            # wake and gather the next batch (a snapshot wants no batch pending). The batch is
            # durable whatever happens meanwhile: its waiters are answered in any case.
            try:
                await self._published(records)
            finally:
                self._durable(batch, records)

    def _durable(self, batch: Batch, records: list[Record]) -> None:
        """Keep the batch's answers under their request ids, then wake its waiters."""
        for rid, response in batch.answers:
            self._inflight.pop(rid, None)
            self._remember(rid, response)
        batch.resolve(records)

    def failed(self, batch: Batch, e: BaseException) -> None:
        """The batch will never be durable: its waiters get ``e``; its ids stay unused."""
        for rid, _ in batch.answers:
            self._inflight.pop(rid, None)
        batch.fail(e)

    def _fail(self, batch: Batch, e: BaseException) -> None:
        # memory is now ahead of the journal: fail-stop, a restart replays the journal
        self._failed = e
        self.failed(batch, e)
        log.error("engine.journal_failed", error=repr(e))

    def take_pending(self) -> Batch | None:
        """The batch being gathered, taken away from the writer (disk full: it cannot go)."""
        batch, self._batch = self._batch, None
        return batch

    async def rebuild(self) -> None:
        """Throw away what memory holds beyond the journal: state as the journal has it."""
        hall, _, _ = await asyncio.to_thread(self._rebuild)
        hall.state.last_seq = self._durable_seq
        self.hall = hall

    async def _published(self, records: list[Record]) -> None:
        if not records:
            return
        self._durable_seq = records[-1].seq
        self.hall.state.last_seq = self._durable_seq
        for q in self._subscribers:
            q.put_nowait(records)
        async with self._seq_changed:
            self._seq_changed.notify_all()
        self._since_freeze += len(records)
        if self._since_freeze >= FREEZE_EVERY:
            self._freeze()
        self.snapshots.published(len(records), self._durable_seq, quiet=self._batch is None)

    def _freeze(self) -> None:
        """Take what is alive now out of the cyclic collector's generations.

        The state grows all day (20,000 tickets: hundreds of thousands of objects), and each
        full collection walked all of it: 50-80 ms with the loop stopped. The state holds no
        reference cycles, so refcounting still frees it (at the day's reset); only a cycle
        alive now and dropped later would wait for a gc.unfreeze(). Objects made since the
        last freeze are all a collection walks. gc.freeze() itself is a list splice: O(1).

        Cyclic garbage not yet collected would be frozen too, and never freed (the wait
        estimates' play-forward copies were: 2 MB over a 20,000-ticket day, before a run broke
        its own cycles, hall/eta.py _Run.close; any other), so a collection comes
        first. It walks only what is not frozen yet, like the collector's own full collections
        between freezes: 1-3 ms every FREEZE_EVERY events (docs/performance.md, "Memory.").
        """
        self._since_freeze = 0
        gc.collect()
        gc.freeze()

    async def snapshot(self) -> None:
        """Save the state as of the last durable seq, here and now (only when nothing is pending).

        For shutdown: the state is at hand and the loop has nobody left to keep waiting, so it
        is pickled on the loop (a busy day: 70-400 ms) rather than asked of the snapshot
        process. That process is ended first: one writer of snapshots at a time.
        Memory must be what the journal holds: a batch gathered or being written is in memory
        but not yet at its seq (a restart would replay it onto a state that has it), so this
        waits for it, a few batches at most.
        """
        await self.snapshots.stop()
        for _ in range(QUIET_TRIES):
            pending = self._batch or self._writing
            if pending is None:
                break
            try:
                await pending.wait()
            except Exception:
                return  # it failed: memory is ahead of the journal, nothing to save
        else:
            log.warning("engine.snapshot_skipped", reason="commands kept coming")
            return
        # no await from the check to the pickle: memory is the journal as of `seq`
        self.snapshots.since = 0
        await self.snapshots.save(self._durable_seq, snapshot_blob(self.hall.state))

    async def drain(self) -> None:
        """Wait until nothing is pending (shutdown: the final snapshot needs a quiet state)."""
        while self._batch is not None:
            await self._batch.wait()

    # ---- the door -----------------------------------------------------------------------

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]:
        # One coroutine for the whole door, the batch joined by a plain call: every await in a
        # chain of coroutines is another frame to create and to resume through on the way back
        # (the engine's own work a command is what the bench's floor is about).
        if not self.budget.admit():
            # This pass has had its share of commands (a batch's waiters all wake at once):
            # a later pass, in the order they came (hallctl/pass_budget.py). Before any check:
            # from here to joining the batch nothing waits (but an old id's lookup or a full
            # disk's probe), so a repeat of a request id in line behind its first finds it.
            await self.budget.turn()
        try:
            if self._failed is not None:
                return error(HallError("internal", "journal unavailable"))
            if request.__class__ is not dict and not isinstance(request, Mapping):
                return error(HallError("bad_request", "a request is a JSON object"))
            rid = request.get("request_id")
            if rid is not None:
                if not isinstance(rid, str):
                    return error(HallError("bad_request", "request_id must be a string"))
                if rid:
                    seen = self._recent.get(rid)
                    if seen is not None:
                        return seen
                    pending = self._inflight.get(rid)
                    if pending is not None:
                        await pending[0].wait()
                        return pending[1]
                    if rid in self._stored:
                        stored = await asyncio.to_thread(self.journal.response_for, rid)
                        if stored is not None:
                            return json.loads(stored)  # type: ignore[no-any-return]
            if (
                self.disk.since is not None  # the disk is full
                and request.get("action") not in READ_ONLY
                and not await self.disk.writable(self)
            ):
                return error(self.disk.error())  # nothing can be made durable: change nothing
            if "id_value" in request:
                request = self._protect(request)
            now = self._clock()
            try:
                cmd = parse_command(request)
                outcome = self.hall.execute(cmd, now)
            except HallError as err:
                # A day rollover may precede the error: it stands, and is journaled with it.
                events, response = err.events, error(err)
            except Exception as e:  # a bug must not take the hall down with it
                log.exception("engine.command_crashed", action=request.get("action"))
                return error(HallError("internal", type(e).__name__))  # not kept: retry may work
            else:
                events, response = outcome.events, {"ok": True, "result": outcome.result}
                if not events and cmd.action in READ_ONLY:
                    self.disk.annotate(cmd.action, response)
                    return response  # changes nothing: a repeat may see the hall as it is now
            # Durable before it is answered, and kept under its request id, errors too: a
            # repeat of a request id gets its first answer, whatever it was (a refused
            # `call_next` retried after a ticket arrived must not call it).
            if not rid or len(rid) > MAX_REQUEST_ID:
                if events:
                    await self._join(events, None, now, None)
                else:
                    # the answer may rest on events not yet durable: wait for them, no longer
                    batch = self._batch or self._writing
                    if batch is not None:
                        await batch.wait()
                return response
            # Kept under its id by the writer once durable (_durable), even if this caller has
            # gone by then; a repeat meanwhile waits for the same batch.
            await self._join(events, rid, now, response)
            return response
        except DiskFullError:
            return error(self.disk.error())

    async def record(self, events: list[Event]) -> None:
        """Journal events the engine itself produces (not from a request); durable on return."""
        await self._join(events, None, self._clock(), None)

    def _join(
        self,
        events: list[Event],
        rid: str | None,
        now: datetime,
        response: dict[str, Any] | None,
    ) -> asyncio.Future[None]:
        """Add the events (and the answer kept under ``rid``) to the gathering batch; the
        future is done when that batch is durable."""
        batch = self._batch
        if batch is None:
            batch = self._batch = Batch()
            self._writer_wake.set()
        encoded = None
        if events:
            if now.tzinfo is not self._tz:  # the clock's own time needs no conversion
                now = now.astimezone(self._tz)
            seen, ts = self._ts
            if now is not seen:  # the clock hands out one datetime a millisecond (wall_clock)
                ts = now.isoformat(timespec="milliseconds")
                self._ts = (now, ts)
            day = self.hall.state.day
            append = batch.events.append
            for type_, data in events:
                if data.__class__ is not dict and not isinstance(data, dict):  # JSON objects only
                    raise TypeError(f"event {type_}: data must be a dict, not {type(data)}")
                # tuple.__new__: the named tuple's own __new__ is one more Python frame an event
                encoded = _new_tuple(
                    EncodedEvent,
                    (
                        new_id(),
                        type_,
                        ts,
                        data["day"] if type_ == "day.started" else day,
                        rid,
                        EVENT_VERSION,
                        encode_event(data),
                    ),
                )
                append(encoded)
        if rid and response is not None:
            result = response.get("result")
            if encoded is not None and result is events[-1][1] and response == ok(result):
                # The answer is its last event's data (a ticket issued, called): encoded once.
                text = f'{{"ok":true,"result":{encoded.data}}}'
            else:
                text = encode_json(response)
            batch.responses.append((rid, text))
            batch.answers.append((rid, response))
            self._inflight[rid] = (batch, response)
        return batch.wait()

    def _remember(self, rid: str, response: dict[str, Any]) -> None:
        self._recent[rid] = response
        if len(self._recent) > RECENT_REQUESTS:
            old, _ = self._recent.popitem(last=False)
            self._stored.add(old)

    def _protect(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """Replace a clear ID number or phone with its keyed hash and mask, at the door."""
        value = request.get("id_value")
        if not isinstance(value, str) or not value:
            return request
        clean = dict(request)
        del clean["id_value"]
        clean["id_hash"] = hash_id(self._secret, value)
        clean["id_masked"] = mask_id(value)
        return clean

    # ---- reading ------------------------------------------------------------------------

    def last_seq(self) -> int:
        return self._durable_seq

    async def wait_beyond(self, seq: int) -> int:
        async with self._seq_changed:
            await self._seq_changed.wait_for(lambda: self._durable_seq > seq)
        return self._durable_seq

    def subscribe(self) -> Subscription:
        """Durable records from now on, in order; registered at once, not at first read."""
        return Subscription(self._subscribers)

    def retained_state(self) -> dict[str, dict[str, Any]]:
        return self.disk.annotate_state(retained_state(self.hall))

    def now(self) -> datetime:
        return self._clock()
