"""The live channel: Server-Sent Events fed from the engine's durable record stream.

One `LiveHub` per view holds one engine subscription. After each batch of durable records it
recomputes its view (a flat dict: key → JSON payload), diffs it against what it sent last, and
broadcasts one message with the changed keys to every open page. A page that (re)connects gets
the whole current view first, tagged with the journal seq (`id:`), then the changes; a page never
has to fold events itself. When the daemon restarts, the browser's EventSource reconnects by
itself (`retry:`), sends `Last-Event-ID`, and gets the current view again: no reload, no polling.

Why SSE and not WebSocket: the pages only listen (their few requests are plain POSTs that go
through the same permission code as every other surface); SSE is one long HTTP response through
the same front, middleware and time-outs, reconnects and resumes are built into every browser,
and it needs no library on either side.

A page that reads too slowly (its queue fills) is dropped; it reconnects and gets the current
view, which is all it needs: state, not a backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from aiohttp import web

from hallctl.journal import Record

log = structlog.get_logger(__name__)

View = Callable[[], Mapping[str, Any]]  # key → JSON-able payload, the page's whole state
RETRY_MS = 1000  # how soon a browser reconnects after the daemon went away
HEARTBEAT_S = 15.0  # a comment line, so dead peers and idle proxies are noticed
QUEUE_MAX = 256  # messages a page may fall behind before it is dropped


class RecordSource(Protocol):
    """The part of the engine the hub reads (HallEngine satisfies it)."""

    def subscribe(self) -> Any: ...  # a context manager that is an async iterator of Records
    def last_seq(self) -> int: ...


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sse(event: str, data: str, seq: int | None = None) -> bytes:
    """One SSE message; `data` is one line of JSON (JSON never holds a raw newline)."""
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


@dataclass(slots=True)
class LiveStats:
    clients: int = 0
    connected: int = 0  # since start
    dropped: int = 0  # too slow
    messages: int = 0  # broadcast (one per batch of records)
    view_ms: float = 0.0  # time spent computing views and diffs


@dataclass(eq=False, slots=True)
class _Client:
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    dropped: bool = False


class LiveHub:
    """One view of the hall, kept current from the journal and fanned out to open pages.

    `events` names the record types whose data pages also get as they happen (a call to
    highlight, an announcement to play); everything else reaches them only as state.
    """

    def __init__(
        self,
        engine: RecordSource,
        view: View,
        *,
        events: Iterable[str] = (),
        event_data: Callable[[Record], Mapping[str, Any] | None] | None = None,
        now: Callable[[], str] | None = None,
        start: Callable[[], None] | None = None,
        fold: Callable[[list[Record]], None] | None = None,
    ) -> None:
        self._engine = engine
        self._view = view
        # for views that keep running aggregates: `start` (re)builds them from the state when
        # the hub (re)starts, `fold` moves them by every batch of records (listened to or not)
        self._start = start
        self._fold = fold
        self._events = frozenset(events)
        self._event_data = event_data or (lambda r: json.loads(r.data))
        self._now = now
        self._clients: set[_Client] = set()
        self._values: dict[str, Any] = {}  # the view as last sent …
        self._last: dict[str, str] = {}  # … and its JSON, per key
        self._stale = True  # nobody was listening when the journal moved: render on connect
        self._seq = 0
        self._pending: list[Record] = []
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self.stats = LiveStats()

    # -- the engine side -------------------------------------------------------------------

    async def run(self) -> None:
        """Follow the journal until cancelled (a supervised component task)."""
        try:
            with self._engine.subscribe() as sub:
                self._seq = self._engine.last_seq()
                if self._start is not None:
                    self._start()
                self._ready.set()
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._flush_loop())
                    async for record in sub:
                        self._pending.append(record)
                        self._wake.set()
        finally:
            # Stopping (or restarting after a failure): end every stream now, so the HTTP front
            # is not kept waiting; the browsers reconnect and get a fresh view.
            self._ready.clear()
            self._stale = True  # records may pass unseen until the hub runs again
            for client in list(self._clients):
                self._drop(client, count=False)

    async def _flush_loop(self) -> None:
        # Records that arrive together (one group commit) become one message: the reader
        # above appends without yielding while records are queued, so this runs once per batch.
        while True:
            await self._wake.wait()
            self._wake.clear()
            records, self._pending = self._pending, []
            if records:
                self.publish(records)

    def publish(self, records: list[Record]) -> None:
        self._seq = records[-1].seq
        if self._fold is not None:
            self._fold(records)
        if not self._clients:
            self._stale = True  # no page to tell: the view is rendered when one connects
            return
        started = time.perf_counter()
        changed, removed = self._render()
        events = []
        for r in records:
            if r.type in self._events:
                data = self._event_data(r)
                if data is not None:
                    events.append(f'{{"type":{_dumps(r.type)},"ts":{_dumps(r.ts)},'
                                  f'"seq":{r.seq},"data":{_dumps(data)}}}')
        self.stats.view_ms += (time.perf_counter() - started) * 1000
        if not changed and not removed and not events:
            return
        body = (
            f'{{"seq":{self._seq},"set":{_join(changed)},"del":{_dumps(removed)},'
            f'"events":[{",".join(events)}]{self._now_field()}}}'
        )
        message = sse("change", body, self._seq)
        self.stats.messages += 1
        for client in list(self._clients):
            try:
                client.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(client)

    def _render(self) -> tuple[dict[str, str], list[str]]:
        """Recompute the view; JSON-encode only the keys whose value changed."""
        values = dict(self._view())
        changed: dict[str, str] = {}
        for key, value in values.items():
            if self._values.get(key, _MISSING) != value:
                changed[key] = self._last[key] = _dumps(value)
        removed = [k for k in self._values if k not in values]
        for key in removed:
            del self._last[key]
        self._values = values
        self._stale = False
        return changed, removed

    def _now_field(self) -> str:
        return f',"now":{_dumps(self._now())}' if self._now is not None else ""

    def _drop(self, client: _Client, *, count: bool = True) -> None:
        client.dropped = True
        self._clients.discard(client)
        self.stats.dropped += count
        with contextlib.suppress(asyncio.QueueFull):
            client.queue.put_nowait(b"")  # wakes its writer, which then ends the response

    # -- the page side ---------------------------------------------------------------------

    def snapshot(self) -> bytes:
        if self._stale:
            self._render()
        body = f'{{"seq":{self._seq},"view":{_join(self._last)}{self._now_field()}}}'
        return sse("view", body, self._seq)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Stream to one page: `retry:`, the current view, then changes until it goes away.

        Call it after the page's token is checked.
        """
        await self._ready.wait()
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # a reverse proxy must not buffer the stream
            }
        )
        await response.prepare(request)
        client = _Client()
        # Registered before the snapshot is taken: nothing published in between is missed.
        self._clients.add(client)
        self.stats.clients = len(self._clients)
        self.stats.connected += 1
        try:
            await response.write(f"retry: {RETRY_MS}\n\n".encode() + self.snapshot())
            while not client.dropped:
                try:
                    async with asyncio.timeout(HEARTBEAT_S):
                        message = await client.queue.get()
                except TimeoutError:
                    message = b": ping\n\n"
                if client.dropped:
                    break  # too slow, or the hub stopped: end it; the browser reconnects
                await response.write(message)
        except ConnectionResetError:
            pass  # the page went away; its browser reconnects when it can
        finally:
            self._clients.discard(client)
            self.stats.clients = len(self._clients)
        return response

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def clients(self) -> int:
        return len(self._clients)


_MISSING = object()


def _join(items: Mapping[str, str]) -> str:
    """A JSON object from keys and already-encoded values (no second encoding pass)."""
    return "{" + ",".join(f"{_dumps(k)}:{v}" for k, v in items.items()) + "}"
