"""The journal: an append-only SQLite (WAL) event log, sink cursors, snapshots and retention.

Every event the hall produces is durable here before its command is acknowledged. The
journal is synchronous and thread-safe; asyncio code calls it through ``asyncio.to_thread``.

Concurrency: one writer connection (guarded by a lock) does every write; reads go through a
small pool of reader connections, so in WAL mode a reader never waits for the writer and
several forwarders can read at once.

`Journal` is the entry point; its parts are modules of their own: the records it takes and
gives back (journal_records), what append() refuses (journal_checks), the schema and its
migrations (journal_schema), the envelope SQL (journal_envelopes), the snapshot table
(journal_snapshots), retention (journal_retention), the high-water mark (journal_mark), and
the SQLite helpers they share (journal_sqlite).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import structlog

from hallctl import journal_retention as retention
from hallctl import journal_snapshots
from hallctl.files import private_dir, private_file
from hallctl.journal_checks import check_data, check_plain
from hallctl.journal_envelopes import ENVELOPES_SQL, PLAIN_ENVELOPES_SQL, Envelopes
from hallctl.journal_mark import HighWaterMark, JournalBehind, mark_path
from hallctl.journal_records import EncodedEvent, PendingEvent, Record, encode_json, json_string
from hallctl.journal_schema import SCHEMA_VERSION, open_schema
from hallctl.journal_sqlite import (
    CACHE_KIB,
    JournalError,
    check_seq,
    connect,
    last_seq_in,
    transaction,
)

# What other modules import from here, wherever it is defined.
__all__ = [
    "CACHE_KIB",
    "SCHEMA_VERSION",
    "EncodedEvent",
    "Envelopes",
    "Journal",
    "JournalBehind",
    "JournalError",
    "PendingEvent",
    "Record",
    "encode_json",
]

log = structlog.get_logger(__name__)

REPLAY_CHUNK: Final = 5000
_COLUMNS: Final = "seq, id, type, ts, day, request_id, v, data"


class Journal:
    """SQLite WAL journal. Synchronous and thread-safe; one instance per database file."""

    def __init__(
        self, path: Path, *, accept_loss: bool = False, check_mark: bool = True
    ) -> None:
        """Open (or create) the journal at ``path``.

        Raises JournalBehind when the journal ends before its high-water mark (its tail was
        lost), unless ``accept_loss``: then the mark is set back to the journal's end.
        ``check_mark=False``: a process beside the daemon that never appends (the snapshot
        process, `hallctl simulate --history`) leaves the mark alone; its check would write the
        journal's end as it read it, older than the daemon's own mark if the daemon appended
        meanwhile.
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
            self._writer = connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        try:
            self._plain_from = open_schema(self._writer, self.path)
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
                check_data(event)
        check_plain(events)
        with self._write_lock:
            conn = self._live_writer()
            with transaction(conn):
                first = last_seq_in(conn) + 1
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
        with transaction(conn):
            # A cursor ahead of the log would let prune() drop undelivered events.
            check_seq(conn, seq, "cursor")
            conn.execute(
                "INSERT INTO cursors (sink, seq) VALUES (?, ?) "
                "ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq",
                (sink, seq),
            )

    def save_snapshot(self, seq: int, blob: bytes) -> None:
        """Store the state folded up to ``seq``; only the latest couple are kept."""
        with self._write_lock:
            journal_snapshots.save(self._live_writer(), seq, blob)

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
                bound = retention.last_deletable(conn, sink_names)
            if bound <= 0:
                return 0
            if archive_dir is not None:
                retention.archive(Path(archive_dir), self._records_to_prune(before_day, bound))
            with self._write_lock:
                conn = self._live_writer()
                with transaction(conn):
                    # Cursors may have moved back while archiving; never delete past them.
                    bound = min(bound, retention.last_deletable(conn, sink_names))
                    deleted = retention.delete_up_to(conn, before_day, bound)
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
        sql = PLAIN_ENVELOPES_SQL if seq >= self._plain_from - 1 else ENVELOPES_SQL
        with self._reader() as conn:
            last, count, types, bodies, first_ts = conn.execute(
                sql, {"hall": json_string(hall), "after": seq, "limit": limit}
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
            return last_seq_in(conn)

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
                return last_seq_in(conn)
            return int(row[0]) - 1

    def load_snapshot(self) -> tuple[int, bytes] | None:
        """The latest snapshot as (seq, blob), or None."""
        with self._reader() as conn:
            return journal_snapshots.latest(conn)

    # --- internals ------------------------------------------------------------------------

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
            conn = connect(self.path)
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

    def _records_to_prune(self, before_day: str, bound: int) -> Iterator[Record]:
        """The events of days before ``before_day`` up to ``bound``, read chunk by chunk (no
        reader held between chunks)."""
        after = 0
        while True:
            with self._reader() as conn:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE day < ? AND seq > ? AND seq <= ? "
                    "ORDER BY seq LIMIT ?",
                    (before_day, after, bound, REPLAY_CHUNK),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield Record(*row)
            after = rows[-1][0]
