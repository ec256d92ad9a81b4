"""The journal: an append-only SQLite (WAL) event log, sink cursors, snapshots and retention.

Every event the hall produces is durable here before its command is acknowledged. The
journal is synchronous and thread-safe; asyncio code calls it through ``asyncio.to_thread``.

Concurrency: one writer connection (guarded by a lock) does every write; reads go through a
small pool of reader connections, so in WAL mode a reader never waits for the writer and
several forwarders can read at once.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NamedTuple, Self

import structlog

from hallctl import json_input
from hallctl.files import private_dir, private_file
from hallctl.journal_mark import HighWaterMark, JournalBehind, mark_path

__all__ = [
    "SCHEMA_VERSION",
    "EncodedEvent",
    "Journal",
    "JournalBehind",
    "JournalError",
    "PendingEvent",
    "Record",
]

log = structlog.get_logger(__name__)

# Written into the SQLite header so a journal is recognisable (`file`, sqlite3 CLI) and a
# foreign database is refused instead of being silently "migrated". ASCII "hall".
APPLICATION_ID: Final = 0x68616C6C
SNAPSHOTS_KEPT: Final = 2
REPLAY_CHUNK: Final = 5000
# SQLite's page cache per connection. The default (2 MB) cost the daemon 2 MB a connection of
# its 60 MB budget on a busy day; the journal's hot pages are B-tree tails, and every other
# page is in the OS cache anyway (no disk read, a copy).
CACHE_KIB: Final = 512
_COLUMNS: Final = "seq, id, type, ts, day, request_id, v, data"
_NEVER: Final = 2**63  # a `plain_from` no seq reaches


class JournalError(Exception):
    """The journal cannot be opened or used (bad file, closed journal, rejected write)."""


# A named tuple: the engine makes one for every event, and as a frozen dataclass it took three
# times as long to make.


class PendingEvent(NamedTuple):
    """An event the engine hands to the journal; ``data`` is JSON text of an object."""

    id: str
    type: str
    ts: str
    day: str
    request_id: str | None
    v: int
    data: str


@dataclass(frozen=True, slots=True)
class Record:
    """A durable event as readers get it back, with its journal ``seq``."""

    seq: int
    id: str
    type: str
    ts: str
    day: str
    request_id: str | None
    v: int
    data: str

    def envelope(self, hall: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "hall": hall,
            "type": self.type,
            "ts": self.ts,
            "v": self.v,
            "data": json.loads(self.data),
        }

    def envelope_json(self, hall: str) -> bytes:
        # Hot path of forwarding: splice the stored data text in instead of parsing it and
        # dumping it again. append() guarantees `data` is a valid JSON object.
        return (
            f'{{"id":{_js(self.id)},"seq":{self.seq},"hall":{_js(hall)},'
            f'"type":{_js(self.type)},"ts":{_js(self.ts)},"v":{self.v},"data":{self.data}}}'
        ).encode()


class Envelopes(NamedTuple):
    """A batch of records as a forwarder publishes them, in seq order, by column: ``bodies[i]``
    is record i's ``Record.envelope_json`` bytes and ``types[i]`` its type.

    SQLite makes the whole batch as one row (`Journal.read_envelopes_after`): one step and one
    hand-over of the GIL per batch, no Python object per record on the reading thread. Read row
    by row, a worker thread gives the GIL back around every row's step, and each time the event
    loop takes it: the reader and the loop took turns 500 times a batch (docs/performance.md)."""

    last_seq: int
    first_ts: str
    types: list[str]
    bodies: list[bytes]

    @classmethod
    def of(cls, records: Sequence[Record], hall: str) -> Envelopes:
        return cls(records[-1].seq, records[0].ts, [r.type for r in records],
                   [r.envelope_json(hall) for r in records])


def _envelopes_sql(*, plain: bool) -> str:
    """One row for a whole batch: the same text as Record.envelope_json per record (`data`
    spliced in as stored; a test holds both to the same bytes), joined by NUL, which JSON text
    never holds (append() refuses data that is not JSON, and quoted strings escape every control
    character). Types are joined by NUL too; should a type hold one, the counts disagree and the
    batch is read row by row instead.

    ``plain``: id, type and ts are put between plain quotes, for rows append() checked need no
    escaping (seq ≥ the journal's `plain_from`): 0.8 µs a record instead of 1.1-1.3 with
    `json_quote` (docs/performance.md). Older rows go through `json_quote`."""
    if plain:
        fields = "id, seq, :hall, type, ts, v, data"
        quoted = '"%s"'
    else:
        fields = "json_quote(id), seq, :hall, json_quote(type), json_quote(ts), v, data"
        quoted = "%s"
    body = (f"printf('{{\"id\":{quoted},\"seq\":%d,\"hall\":%s,\"type\":{quoted},"
            f"\"ts\":{quoted},\"v\":%d,\"data\":%s}}', {fields})")
    # Before SQLite 3.44 an aggregate cannot be told its order: group_concat then follows the
    # order its input arrives in, which is the subquery's ORDER BY (the test checks it).
    order = " ORDER BY seq" if sqlite3.sqlite_version_info >= (3, 44, 0) else ""
    return (
        f"SELECT max(seq), count(*), group_concat(type, char(0){order}),"
        f" CAST(group_concat(body, char(0){order}) AS BLOB),"
        " (SELECT ts FROM events WHERE seq > :after ORDER BY seq LIMIT 1)"
        f" FROM (SELECT seq, type, {body} AS body FROM events WHERE seq > :after"
        " ORDER BY seq LIMIT :limit)"
    )


_ENVELOPES_SQL: Final = _envelopes_sql(plain=False)
_PLAIN_ENVELOPES_SQL: Final = _envelopes_sql(plain=True)
# Bytes JSON must escape in a string: control characters, quote, backslash. UTF-8 puts no
# byte below 0x80 inside a multi-byte character, so deleting these bytes is an exact test.
_ESCAPED_BYTES: Final = bytes(range(0x20)) + b'"\\'


class EncodedEvent(PendingEvent):
    """An event whose ``data`` :meth:`encode` made from a dict: JSON object text by construction,
    so :meth:`Journal.append` need not decode it again to check it."""

    __slots__ = ()

    @classmethod
    def encode(
        cls,
        id: str,
        type: str,
        ts: str,
        day: str,
        request_id: str | None,
        v: int,
        data: dict[str, Any],
    ) -> EncodedEvent:
        if not isinstance(data, dict):
            raise TypeError(f"event {id}: data must be a dict, not {data.__class__.__name__}")
        return cls(id, type, ts, day, request_id, v, encode_json(data))


def _json_encoder() -> Callable[[Any], str]:
    """Compact JSON text, non-ASCII kept, NaN and Infinity refused (ValueError): they are no
    JSON, the one way the encoder could make bad text.

    The C encoder ``json.dumps`` sets up anew on every call, made once: 2 µs an event instead
    of 3.7 (the engine encodes every event and every answer it keeps). Same text as
    ``json.dumps(..., ensure_ascii=False, separators=(",", ":"), allow_nan=False)``.
    """
    slow = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    if c_make_encoder is None:  # no C accelerator (another Python implementation)
        return slow
    # markers None: no cycle check (a cycle would recurse until RecursionError, also an error)
    chunks = c_make_encoder(None, _unencodable, _js, None, ":", ",", False, False, False)

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


# The C string encoder behind json.dumps(ensure_ascii=False), without its per-call set-up.
_js: Final = encode_basestring
encode_json: Final = _json_encoder()


# --- schema -------------------------------------------------------------------------------
# Migration N brings the schema from version N-1 to N. Never edit a released step: add one.

_V1: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # AUTOINCREMENT: a seq is never reused, even when prune() has emptied the table.
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        ts TEXT NOT NULL,
        day TEXT NOT NULL,
        request_id TEXT,
        v INTEGER NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX events_day ON events(day)",
    # Partial: most events (ticks, device status) carry no request id.
    "CREATE INDEX events_request_id ON events(request_id) WHERE request_id IS NOT NULL",
    "CREATE TABLE cursors (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, created TEXT NOT NULL, blob BLOB NOT NULL)",
)

# Idempotency: the answer to each request id, written in the same transaction as its events,
# so a client's retry after a crash gets the first answer instead of a second ticket.
_V2: Final = (
    """CREATE TABLE responses (
        request_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        response TEXT NOT NULL
    )""",
)

# Plain fields: from this version on, append() refuses an id, type or ts that JSON would have
# to escape, and `plain_from` is the first seq written under that rule (the next one when an
# older journal is migrated: its rows may hold anything). Forwarders build the envelopes of rows
# from there on without json_quote (`_envelopes_sql`). A version, not just a meta row: an older
# hallctl refuses the journal instead of appending unchecked rows after `plain_from`.
_V3: Final = (
    "INSERT OR REPLACE INTO meta (key, value) SELECT 'plain_from',"
    " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) + 1",
)

_MIGRATIONS: Final[dict[int, Sequence[str]]] = {1: _V1, 2: _V2, 3: _V3}
SCHEMA_VERSION: Final = max(_MIGRATIONS)


class Journal:
    """SQLite WAL journal. Synchronous and thread-safe; one instance per database file."""

    def __init__(
        self, path: Path, *, accept_loss: bool = False, check_mark: bool = True
    ) -> None:
        """Open (or create) the journal at ``path``.

        Raises JournalBehind when the journal ends before its high-water mark (its tail was
        lost), unless ``accept_loss``: then the mark is set back to the journal's end.
        ``check_mark=False``: a process beside the daemon that never appends (the snapshot
        process) leaves the mark alone; its check would write the journal's end as it read it,
        older than the daemon's own mark if the daemon appended meanwhile.
        """
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._idle_readers: list[sqlite3.Connection] = []
        self._readers: set[sqlite3.Connection] = set()
        self._prune_lock = threading.Lock()
        self._closed = False
        try:
            private_dir(self.path.parent)
            private_file(self.path)  # 0640 before SQLite creates it under the umask
            self._writer = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        try:
            self._open_schema()
        except sqlite3.Error as exc:
            self._writer.close()
            raise JournalError(f"{self.path} is not a usable hallctl journal: {exc}") from exc
        except JournalError:
            self._writer.close()
            raise
        try:
            self._mark = HighWaterMark(self.path)
            # The mark first: it is written after each commit, so a journal appended to by
            # another process meanwhile can only be found ahead of it, never behind.
            mark = self._mark.read()
            last = self.last_seq()
            lost_from = (
                self._mark.check(self.path, last, mark, accept_loss=accept_loss)
                if check_mark
                else None
            )
        except (OSError, JournalBehind) as exc:
            self.close_quietly()
            if isinstance(exc, JournalBehind):
                raise
            raise JournalError(f"cannot use {mark_path(self.path)}: {exc}") from exc
        if lost_from is not None:
            log.warning("journal.loss_accepted", path=str(self.path), last_seq=last,
                        acknowledged_up_to=lost_from, lost=lost_from - last)
        log.info("journal.opened", path=str(self.path), last_seq=last)

    # --- lifetime -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close_quietly(self) -> None:
        """Close without the log line (a journal refused while opening)."""
        self._closed = True
        self._writer.close()
        mark = getattr(self, "_mark", None)
        if mark is not None:
            mark.close()

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
            self._mark.close()
        with self._pool_lock:
            # Readers still checked out are closed when they come back (_reader).
            for conn in self._idle_readers:
                conn.close()
                self._readers.discard(conn)
            self._idle_readers.clear()
        log.info("journal.closed", path=str(self.path))

    # --- writes ---------------------------------------------------------------------------

    def append(
        self, events: Sequence[PendingEvent], responses: Sequence[tuple[str, str]] = ()
    ) -> list[Record]:
        """Append a batch in one transaction; every event is durable when this returns.

        ``responses`` are (request id, response JSON) pairs stored in the same transaction;
        a batch may hold answers only (refused requests), kept under the current last seq.
        """
        if not events and not responses:
            return []
        for event in events:
            if event.__class__ is not EncodedEvent:
                _check_data(event)
        _check_plain(events)
        with self._write_lock:
            conn = self._live_writer()
            with _transaction(conn):
                first = _last_seq(conn) + 1
                # an event is the tuple of the columns after seq, in their order
                rows = [(first + i, *e) for i, e in enumerate(events)]
                records = [Record(*row) for row in rows]
                try:
                    conn.executemany(
                        f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                    )
                    if responses:
                        seq = records[-1].seq if records else first - 1
                        conn.executemany(
                            "INSERT OR IGNORE INTO responses (request_id, seq, response) "
                            "VALUES (?, ?, ?)",
                            [(rid, seq, text) for rid, text in responses],
                        )
                except sqlite3.IntegrityError as exc:
                    raise JournalError(f"batch rejected, nothing written: {exc}") from exc
            if records:
                try:
                    self._mark.write(records[-1].seq)
                except OSError as exc:  # the mark lagging only weakens the check
                    log.warning("journal.mark_not_written", error=str(exc))
        return records

    def response_for(self, request_id: str) -> str | None:
        """The stored response JSON of an earlier request with this id, if any."""
        with self._reader() as conn:
            row = conn.execute(
                "SELECT response FROM responses WHERE request_id = ?", (request_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def request_ids_since_day(self, day: str) -> set[str]:
        """Request ids answered by events of ``day`` or later (the idempotency window)."""
        with self._reader() as conn:
            row = conn.execute("SELECT MIN(seq) FROM events WHERE day >= ?", (day,)).fetchone()
            if row is None or row[0] is None:
                return set()
            rows = conn.execute(
                "SELECT request_id FROM responses WHERE seq >= ?", (int(row[0]),)
            ).fetchall()
        return {str(r[0]) for r in rows}

    def set_cursor(self, sink: str, seq: int) -> None:
        """Record that ``sink`` has delivered everything up to and including ``seq``."""
        with self._write_lock:
            conn = self._live_writer()
            # Not fsynced on its own: the next append's fsync carries it (same WAL). Power loss
            # can only set a cursor back, and a cursor set back re-sends (at least once; back
            # ends de-duplicate by id). An fsync per forwarded batch competed with the engine's
            # appends for the one writer and the disk: with the MQTT link, half the commits.
            conn.execute("PRAGMA synchronous = NORMAL")
            try:
                self._save_cursor(conn, sink, seq)
            finally:
                conn.execute("PRAGMA synchronous = FULL")

    def _save_cursor(self, conn: sqlite3.Connection, sink: str, seq: int) -> None:
        with _transaction(conn):
            # A cursor ahead of the log would let prune() drop undelivered events.
            _check_seq(conn, seq, "cursor")
            conn.execute(
                "INSERT INTO cursors (sink, seq) VALUES (?, ?) "
                "ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq",
                (sink, seq),
            )

    def save_snapshot(self, seq: int, blob: bytes) -> None:
        """Store the state folded up to ``seq``; only the latest couple are kept."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self._write_lock:
            conn = self._live_writer()
            with _transaction(conn):
                _check_seq(conn, seq, "snapshot")
                # Space first, then the bytes through incremental blob I/O: a blob bound as a
                # parameter stays copied in the cached statement until its next use (a day's
                # snapshot: 2.5 MB resident for good).
                conn.execute(
                    "INSERT OR REPLACE INTO snapshots (seq, created, blob) "
                    "VALUES (?, ?, zeroblob(?))",
                    (seq, created, len(blob)),
                )
                if blob:
                    with conn.blobopen("snapshots", "blob", seq) as out:
                        out.write(blob)
                conn.execute(
                    "DELETE FROM snapshots WHERE seq NOT IN "
                    "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                    (SNAPSHOTS_KEPT,),
                )

    def prune(
        self, before_day: str, sinks: Iterable[str], *, archive_dir: Path | None = None
    ) -> int:
        """Delete events of days before ``before_day`` that every sink has delivered.

        Never deletes past the slowest of ``sinks`` nor past the latest snapshot (state must
        stay rebuildable from snapshot + later events); with no snapshot nothing is deleted.
        With ``archive_dir``, pruned rows are first appended as JSON lines to
        ``archive_dir/<day>.jsonl.gz`` and fsynced. A crash between archiving and deleting
        archives those rows again on the next prune: readers should de-duplicate by ``id``.
        Returns the number of events deleted.
        """
        # Days compare as text: anything but YYYY-MM-DD (even "20250303") would misorder.
        if date.fromisoformat(before_day).isoformat() != before_day:
            raise ValueError(f"before_day must be YYYY-MM-DD, not {before_day!r}")
        sink_names = sorted(set(sinks))
        with self._prune_lock:
            with self._reader() as conn:
                bound = self._prune_bound(conn, sink_names)
            if bound <= 0:
                return 0
            if archive_dir is not None:
                self._archive(Path(archive_dir), before_day, bound)
            with self._write_lock:
                conn = self._live_writer()
                with _transaction(conn):
                    # Cursors may have moved back while archiving; never delete past them.
                    bound = min(bound, self._prune_bound(conn, sink_names))
                    deleted = conn.execute(
                        "DELETE FROM events WHERE day < ? AND seq <= ?", (before_day, bound)
                    ).rowcount
                    conn.execute(
                        "DELETE FROM responses WHERE seq <= ? AND seq < "
                        "(SELECT COALESCE(MIN(seq), ?) FROM events)",
                        (bound, bound + 1),
                    )
        log.info("journal.pruned", before_day=before_day, up_to_seq=bound, deleted=deleted)
        return deleted

    # --- reads ----------------------------------------------------------------------------

    def read_after(self, seq: int, limit: int = 1000) -> list[Record]:
        """Up to ``limit`` records with seq > ``seq``, in seq order."""
        with self._reader() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [Record(*row) for row in rows]

    def read_envelopes_after(self, seq: int, limit: int, hall: str) -> Envelopes | None:
        """Up to ``limit`` records with seq > ``seq`` as forwarding envelopes, in seq order;
        None when there are none."""
        sql = _PLAIN_ENVELOPES_SQL if seq >= self._plain_from - 1 else _ENVELOPES_SQL
        with self._reader() as conn:
            last, count, types, bodies, first_ts = conn.execute(
                sql, {"hall": _js(hall), "after": seq, "limit": limit}
            ).fetchone()
        if not count:
            return None
        batch = Envelopes(last, first_ts, types.split("\0"), bodies.split(b"\0"))
        if len(batch.types) != count or len(batch.bodies) != count:
            records = self.read_after(seq, limit)
            return Envelopes.of(records, hall) if records else None
        return batch

    @property
    def plain_from(self) -> int:
        """The first seq whose id, type and ts append() checked need no JSON escaping (schema 3;
        rows before it come from an older hallctl and may hold anything)."""
        return self._plain_from

    def last_seq(self) -> int:
        """The highest seq ever assigned (it does not go down when old events are pruned)."""
        with self._reader() as conn:
            return _last_seq(conn)

    def replay(self, after: int = 0) -> Iterator[Record]:
        """Stream every record with seq > ``after``, chunk by chunk (no lock held between)."""
        while chunk := self.read_after(after, REPLAY_CHUNK):
            yield from chunk
            after = chunk[-1].seq

    def cursor(self, sink: str) -> int:
        """The last seq ``sink`` has delivered; 0 for a sink never seen."""
        with self._reader() as conn:
            row = conn.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return int(row[0]) if row else 0

    def has_cursor(self, sink: str) -> bool:
        """Whether ``sink`` has a cursor yet (a new sink chooses where it starts)."""
        with self._reader() as conn:
            row = conn.execute("SELECT 1 FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return row is not None

    def seq_before_day(self, day: str) -> int:
        """The last seq before the first event of ``day`` or later (a cursor that starts there)."""
        with self._reader() as conn:
            row = conn.execute("SELECT MIN(seq) FROM events WHERE day >= ?", (day,)).fetchone()
            if row is None or row[0] is None:
                return _last_seq(conn)
            return int(row[0]) - 1

    def load_snapshot(self) -> tuple[int, bytes] | None:
        """The latest snapshot as (seq, blob), or None."""
        with self._reader() as conn:
            row = conn.execute(
                "SELECT seq, blob FROM snapshots ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    # --- internals ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (no implicit transactions).
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        conn.execute("PRAGMA synchronous = FULL")  # per connection; FULL: fsync every commit
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        return conn

    def _open_schema(self) -> None:
        conn = self._writer
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if tables and (app_id != APPLICATION_ID or "meta" not in tables):
            raise JournalError(f"{self.path} is an SQLite database but not a hallctl journal")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(f"{self.path}: cannot switch to WAL mode (got {mode!r})")
        # Let the WAL file shrink back after checkpoints instead of keeping its peak size.
        conn.execute("PRAGMA journal_size_limit = 67108864")
        # One transaction, version read inside it: two processes opening a new file at once
        # cannot both run a migration, and a failed step leaves the old schema intact.
        with _transaction(conn):
            version = _schema_version(conn)
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"{self.path} has journal schema {version}; this hallctl knows up to "
                    f"{SCHEMA_VERSION} (upgrade hallctl)"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        if version < SCHEMA_VERSION:
            log.info(
                "journal.migrated", path=str(self.path), from_version=version, to=SCHEMA_VERSION
            )
        row = conn.execute("SELECT value FROM meta WHERE key = 'plain_from'").fetchone()
        # No record (never written by a migration): every row goes through json_quote.
        self._plain_from = int(row[0]) if row else _NEVER

    def _live_writer(self) -> sqlite3.Connection:
        if self._closed:
            raise JournalError(f"journal {self.path} is closed")
        return self._writer

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise JournalError(f"journal {self.path} is closed")
            conn = self._idle_readers.pop() if self._idle_readers else None
        if conn is None:
            conn = self._connect()
            with self._pool_lock:
                self._readers.add(conn)
        try:
            yield conn
        finally:
            with self._pool_lock:
                if self._closed:
                    conn.close()
                    self._readers.discard(conn)
                else:
                    self._idle_readers.append(conn)

    def _prune_bound(self, conn: sqlite3.Connection, sinks: list[str]) -> int:
        snap = conn.execute("SELECT MAX(seq) FROM snapshots").fetchone()[0]
        bound = int(snap) if snap is not None else 0
        for sink in sinks:
            row = conn.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
            bound = min(bound, int(row[0]) if row else 0)
        return bound

    def _archive(self, archive_dir: Path, before_day: str, bound: int) -> None:
        private_dir(archive_dir)
        files: dict[str, gzip.GzipFile] = {}
        raw: dict[str, io.BufferedWriter] = {}
        try:
            after = 0
            while True:
                with self._reader() as conn:
                    rows = conn.execute(
                        f"SELECT {_COLUMNS} FROM events WHERE day < ? AND seq > ? AND seq <= ? "
                        "ORDER BY seq LIMIT ?",
                        (before_day, after, bound, REPLAY_CHUNK),
                    ).fetchall()
                if not rows:
                    break
                for row in rows:
                    rec = Record(*row)
                    out = files.get(rec.day)
                    if out is None:
                        name = private_file(archive_dir / f"{rec.day}.jsonl.gz")
                        fh = open(name, "ab")  # noqa: SIM115
                        raw[rec.day] = fh
                        # "ab" adds a gzip member; gzip readers read concatenated members.
                        out = files[rec.day] = gzip.GzipFile(fileobj=fh, mode="ab")
                    out.write(_archive_line(rec))
                after = rows[-1][0]
        finally:
            for day, out in files.items():
                out.close()
                fh = raw[day]
                fh.flush()
                os.fsync(fh.fileno())
                fh.close()
        _fsync_dir(archive_dir)  # a new archive file's name must survive power loss too


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _archive_line(rec: Record) -> bytes:
    return (
        f'{{"seq":{rec.seq},"id":{_js(rec.id)},"type":{_js(rec.type)},"ts":{_js(rec.ts)},'
        f'"day":{_js(rec.day)},"request_id":{json.dumps(rec.request_id, ensure_ascii=False)},'
        f'"v":{rec.v},"data":{rec.data}}}\n'
    ).encode()


def _check_data(event: PendingEvent) -> None:
    # envelope_json splices `data` verbatim: a bad value stored once would poison every
    # forwarder forever, so refuse it here, before anything is written.
    try:
        ok = isinstance(json_input.loads(event.data), dict)
    except json_input.JsonInputError:
        ok = False
    if not ok:
        raise JournalError(f"event {event.id}: data is not a JSON object text")


def _check_plain(events: Sequence[PendingEvent]) -> None:
    # Forwarders splice id, type and ts between plain quotes (`_envelopes_sql`): one that JSON
    # must escape would make bad JSON for every back end, so refuse the batch. Checked for the
    # whole batch at once (0.1 µs an event); a batch's events mostly share their type and ts.
    try:
        text = ("".join([e.id for e in events]) + "".join({e.type for e in events})
                + "".join({e.ts for e in events})).encode()
    except (TypeError, UnicodeEncodeError):
        text = b"\0"  # not text, or not UTF-8: find the culprit below
    if len(text.translate(None, _ESCAPED_BYTES)) == len(text):
        return
    for event in events:
        for name, value in (("id", event.id), ("type", event.type), ("ts", event.ts)):
            if not isinstance(value, str) or not _is_plain(value):
                raise JournalError(
                    f"event {event.id!r}: {name} {value!r} must be text with no quote, "
                    "backslash or control character")


def _is_plain(value: str) -> bool:
    try:
        raw = value.encode()
    except UnicodeEncodeError:
        return False
    return len(raw.translate(None, _ESCAPED_BYTES)) == len(raw)


def _schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _last_seq(conn: sqlite3.Connection) -> int:
    # sqlite_sequence keeps the high-water mark even after prune() emptied the table.
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return int(row[0]) if row else 0


def _check_seq(conn: sqlite3.Connection, seq: int, what: str) -> None:
    last = _last_seq(conn)
    if not 0 <= seq <= last:
        raise ValueError(f"{what} seq {seq} outside the journal (last seq is {last})")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so the commit cannot fail on a lock upgrade.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back (e.g. disk full): don't mask the real error.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
