"""The journal: durable, ordered, thread-safe; cursors, snapshots, retention. Real SQLite files."""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.journal import (
    CACHE_KIB,
    SCHEMA_VERSION,
    EncodedEvent,
    Journal,
    JournalError,
    PendingEvent,
    Record,
    encode_json,
)
from hallctl.journal_envelopes import ENVELOPES_SQL, PLAIN_ENVELOPES_SQL

REPO = Path(__file__).resolve().parents[1]


def ev(n: int, day: str = "2025-03-01", request_id: str | None = None) -> PendingEvent:
    return PendingEvent(
        id=f"ev-{n:08d}",
        type="ticket.issued",
        ts=f"{day}T09:00:00+08:00",
        day=day,
        request_id=request_id,
        v=1,
        data=json.dumps({"ticket": f"A{n:03d}", "n": n}),
    )


def evs(start: int, count: int, day: str = "2025-03-01") -> list[PendingEvent]:
    return [ev(n, day) for n in range(start, start + count)]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    with Journal(path) as j:
        yield j


# --- append and read -----------------------------------------------------------------------


def test_append_assigns_consecutive_seqs_in_batch_order(journal: Journal) -> None:
    first = journal.append(evs(0, 3))
    second = journal.append(evs(3, 2))
    assert [r.seq for r in first] == [1, 2, 3]
    assert [r.seq for r in second] == [4, 5]
    assert [r.id for r in first + second] == [f"ev-{n:08d}" for n in range(5)]
    assert journal.last_seq() == 5


def test_records_carry_every_field_of_the_pending_event(journal: Journal) -> None:
    pending = ev(7, day="2025-03-02", request_id="req-1")
    (rec,) = journal.append([pending])
    (read,) = journal.read_after(0)
    assert read == rec
    assert (read.id, read.type, read.ts, read.day, read.request_id, read.v, read.data) == (
        pending.id,
        pending.type,
        pending.ts,
        pending.day,
        pending.request_id,
        pending.v,
        pending.data,
    )


def test_read_after_returns_later_records_in_order_up_to_limit(journal: Journal) -> None:
    journal.append(evs(0, 10))
    assert [r.seq for r in journal.read_after(3, limit=4)] == [4, 5, 6, 7]
    assert [r.seq for r in journal.read_after(8)] == [9, 10]
    assert journal.read_after(10) == []


def test_empty_append_writes_nothing(journal: Journal) -> None:
    assert journal.append([]) == []
    assert journal.last_seq() == 0


def test_duplicate_event_id_rejects_the_whole_batch(journal: Journal) -> None:
    journal.append([ev(1)])
    with pytest.raises(JournalError, match="UNIQUE"):
        journal.append([ev(2), ev(1)])
    assert [r.id for r in journal.read_after(0)] == ["ev-00000001"]
    assert journal.append([ev(2)])[0].seq == 2  # the failed batch consumed no seq


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '"text"', '{"x": NaN}', ""])
def test_data_that_is_not_a_json_object_is_refused(journal: Journal, data: str) -> None:
    bad = PendingEvent(
        "ev-bad", "ticket.issued", "2025-03-01T09:00:00+08:00", "2025-03-01", None, 1, data
    )
    with pytest.raises(JournalError, match="ev-bad"):
        journal.append([ev(1), bad])
    assert journal.last_seq() == 0


def test_an_event_encoded_from_a_dict_is_stored_as_its_compact_json(journal: Journal) -> None:
    data = {"ticket": "A001", "name": "5号窗口", "n": 1.5, "none": None}
    event = EncodedEvent.encode(
        "ev-enc", "ticket.issued", "2025-03-01T09:00:00+08:00", "2025-03-01", None, 1, data
    )
    (rec,) = journal.append([event])
    assert rec.data == '{"ticket":"A001","name":"5号窗口","n":1.5,"none":null}'
    assert json.loads(journal.read_after(0)[0].data) == data


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text() | st.integers(), _JSON, max_size=6))
def test_the_encoder_made_once_writes_what_json_dumps_writes(data: dict[object, object]) -> None:
    assert encode_json(data) == json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def test_the_encoder_made_once_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_json({"when": object()})


@pytest.mark.parametrize("data", [{"x": math.nan}, {"x": [math.inf]}])
def test_an_encoded_event_cannot_carry_what_is_not_json(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        EncodedEvent.encode("e", "t", "ts", "2025-03-01", None, 1, data)


def test_an_encoded_event_is_made_of_an_object_only() -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        EncodedEvent.encode("e", "t", "ts", "2025-03-01", None, 1, [1, 2])  # type: ignore[arg-type]


def test_every_append_is_durable_and_seq_continues_after_reopen(path: Path) -> None:
    with Journal(path) as j:
        written = j.append(evs(0, 5))
    with Journal(path) as j:
        assert j.read_after(0) == written
        assert j.last_seq() == 5
        assert [r.seq for r in j.append(evs(5, 2))] == [6, 7]


def test_database_is_wal_with_full_sync_and_records_its_schema(path: Path) -> None:
    with Journal(path) as j:
        assert j._writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)
    finally:
        raw.close()


# --- envelopes -----------------------------------------------------------------------------


def test_envelope_json_is_the_envelope_as_compact_utf8_json(journal: Journal) -> None:
    data = json.dumps({"window": 5, "name": "5号窗口", "staff": None}, ensure_ascii=False)
    pending = PendingEvent(
        "01J-x", "ticket.called", "2025-03-01T09:00:00+08:00", "2025-03-01", "r1", 2, data
    )
    (rec,) = journal.append([pending])
    envelope = rec.envelope("hall-7")
    assert envelope == {
        "id": "01J-x",
        "seq": 1,
        "hall": "hall-7",
        "type": "ticket.called",
        "ts": "2025-03-01T09:00:00+08:00",
        "v": 2,
        "data": {"window": 5, "name": "5号窗口", "staff": None},
    }
    raw = rec.envelope_json("hall-7")
    assert json.loads(raw) == envelope
    assert list(json.loads(raw)) == ["id", "seq", "hall", "type", "ts", "v", "data"]
    assert "5号窗口".encode() in raw  # not \\u-escaped


def test_envelope_json_escapes_strings_it_splices(journal: Journal) -> None:
    rec = Record(1, 'a"b', "t", "ts", "2025-03-01", None, 1, "{}")
    assert json.loads(rec.envelope_json('hall "q"\n'))["hall"] == 'hall "q"\n'
    assert json.loads(rec.envelope_json("h"))["id"] == 'a"b'


def old_journal(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """A journal as a hallctl before plain fields (schema 2) left it, holding events with any
    (id, type, ts): written past append()'s check, straight into SQLite."""
    Journal(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.executemany(
            "INSERT INTO events (id, type, ts, day, request_id, v, data) "
            "VALUES (?, ?, ?, '2025-03-01', NULL, 1, '{\"n\":1}')", rows)
        raw.execute("DELETE FROM meta WHERE key = 'plain_from'")
        raw.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    raw.close()


def both_ways(path: Path, after: int, hall: str) -> tuple[bytes, bytes]:
    """The batch after ``after`` as SQLite builds it with json_quote and with plain quotes."""
    raw = sqlite3.connect(path)
    try:
        params = {"hall": json.dumps(hall, ensure_ascii=False), "after": after, "limit": 100}
        quoted = raw.execute(ENVELOPES_SQL, params).fetchone()[3]
        plain = raw.execute(PLAIN_ENVELOPES_SQL, params).fetchone()[3]
    finally:
        raw.close()
    return quoted, plain


# Text JSON needs not escape: anything but quote, backslash and control characters (中文 too).
PLAIN_TEXT = st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=0x20,
                                   blacklist_characters='"\\'), min_size=1, max_size=12)


@settings(deadline=None)  # each example opens a journal: fsyncs, slow on a busy disk
@given(
    st.lists(
        st.tuples(
            PLAIN_TEXT,
            st.sampled_from(["ticket.called", "voice.announced", "alarm.raised"]),
            st.dictionaries(st.text(max_size=6), st.one_of(st.text(max_size=8), st.integers())),
            st.sampled_from([None, "r-1"]),
        ),
        min_size=1, max_size=8, unique_by=lambda t: t[0],
    ),
    st.text(min_size=1, max_size=10),  # the hall: any text, quoted by Python
)
def test_plain_envelopes_are_byte_for_byte_the_json_quote_ones(
    tmp_path_factory: pytest.TempPathFactory, events: list[tuple[str, str, dict[str, object],
                                                            str | None]], hall: str
) -> None:
    path = tmp_path_factory.mktemp("env") / "j.db"
    with Journal(path) as journal:
        records = journal.append([
            PendingEvent(id_, type_, "2025-03-01T09:00:00+08:00", "2025-03-01", rid, 1,
                         json.dumps(data, ensure_ascii=False))
            for id_, type_, data, rid in events
        ])
        envelopes = journal.read_envelopes_after(0, 100, hall)
    assert envelopes is not None
    assert envelopes.bodies == [r.envelope_json(hall) for r in records]
    assert envelopes.types == [r.type for r in records]
    assert (envelopes.last_seq, envelopes.first_ts) == (records[-1].seq, records[0].ts)
    quoted, plain = both_ways(path, 0, hall)
    assert plain == quoted == b"\0".join(envelopes.bodies)


@settings(deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6, unique=True))
def test_old_rows_of_any_text_still_make_valid_json_envelopes(
    tmp_path_factory: pytest.TempPathFactory, ids: list[str]
) -> None:
    # quotes, backslashes, control characters, NUL: what a journal from before the check holds
    path = tmp_path_factory.mktemp("old") / "j.db"
    old_journal(path, [(i, "t\n\"", "ts\\") for i in ids if "\0" not in i])
    with Journal(path) as journal:
        new = journal.append([ev(1)])
        records = journal.read_after(0)
        envelopes = journal.read_envelopes_after(0, 100, "h")
    assert envelopes is not None
    assert [json.loads(body) for body in envelopes.bodies] == [r.envelope("h") for r in records]
    assert envelopes.bodies == [r.envelope_json("h") for r in records]
    assert records[-1] == new[0]


def test_a_migrated_journal_reads_plain_only_from_its_first_new_row(path: Path) -> None:
    old_journal(path, [("a\"b", "ticket.issued", "ts"), ("c", "odd\\type", "ts")])
    with Journal(path) as journal:
        journal.append(evs(1, 3))  # seq 3, 4, 5: checked
        assert journal.plain_from == 3
        old = journal.read_envelopes_after(1, 10, "h")  # from seq 2: through json_quote
        new = journal.read_envelopes_after(2, 10, "h")  # from seq 3: plain quotes
    assert old is not None and new is not None
    assert json.loads(old.bodies[0])["type"] == "odd\\type"
    assert old.bodies[1:] == new.bodies
    quoted, plain = both_ways(path, 2, "h")
    assert plain == quoted == b"\0".join(new.bodies)
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
    finally:
        raw.close()


def test_a_new_journal_is_plain_from_its_first_row(journal: Journal) -> None:
    assert journal.plain_from == 1


@pytest.mark.parametrize("field", ["id", "type", "ts"])
@pytest.mark.parametrize("bad", ['a"b', "a\\b", "a\nb", "a\0b", "\x1f"])
@pytest.mark.parametrize("encoded", [False, True])
def test_append_refuses_an_id_type_or_ts_json_would_escape_and_writes_nothing(
    journal: Journal, field: str, bad: str, encoded: bool
) -> None:
    journal.append([ev(1)])
    fields = {"id": "e2", "type": "ticket.issued", "ts": "2025-03-01T09:00:00+08:00", field: bad}
    odd = (EncodedEvent.encode(fields["id"], fields["type"], fields["ts"], "2025-03-01", None, 1,
                               {}) if encoded
           else PendingEvent(fields["id"], fields["type"], fields["ts"], "2025-03-01", None, 1,
                             "{}"))
    with pytest.raises(JournalError, match=f"{field} .* no quote, backslash or control"):
        journal.append([ev(3), odd])
    assert journal.last_seq() == 1
    assert [r.id for r in journal.read_after(0)] == ["ev-00000001"]


def test_envelope_batches_come_in_seq_order_across_many_pages(journal: Journal) -> None:
    # A batch is one SQLite row joined by group_concat: its order must be the seq order
    # however many pages the batch spans.
    types = ["ticket.issued", "ticket.called", "window.opened"]
    records = journal.append([
        PendingEvent(f"e{i}", types[i % 3], f"2025-03-01T09:{i // 60 % 60:02d}:00+08:00",
                     "2025-03-01", None, 1, json.dumps({"n": i, "pad": "x" * (i % 97)}))
        for i in range(1, 1301)
    ])
    seen: list[bytes] = []
    seen_types: list[str] = []
    after = 0
    while (batch := journal.read_envelopes_after(after, 500, "h")) is not None:
        assert batch.first_ts == records[after].ts
        seen += batch.bodies
        seen_types += batch.types
        after = batch.last_seq
    assert seen == [r.envelope_json("h") for r in records]
    assert seen_types == [r.type for r in records]


def test_a_type_holding_the_batch_separator_is_read_row_by_row(path: Path) -> None:
    # Envelopes of a batch come from SQLite joined by NUL; a type with a NUL in it (only an old
    # journal can hold one) would split wrong, so the batch is read again row by row.
    old_journal(path, [("e1", "odd\0type", "ts1")])
    with Journal(path) as journal:
        journal.append([
            PendingEvent("e2", "ticket.called", "ts2", "2025-03-01", None, 1, '{"b":"\\u0000"}'),
        ])
        records = journal.read_after(0)
        envelopes = journal.read_envelopes_after(0, 10, "h")
    assert envelopes is not None
    assert envelopes.types == ["odd\0type", "ticket.called"]
    assert envelopes.bodies == [r.envelope_json("h") for r in records]
    assert json.loads(envelopes.bodies[1])["data"] == {"b": "\0"}


def test_envelopes_are_read_after_a_seq_up_to_a_limit(journal: Journal) -> None:
    journal.append(evs(1, 10))
    envelopes = journal.read_envelopes_after(3, 4, "h")
    assert envelopes is not None
    assert [json.loads(body)["seq"] for body in envelopes.bodies] == [4, 5, 6, 7]
    assert envelopes.last_seq == 7
    assert journal.read_envelopes_after(10, 4, "h") is None


# --- concurrency ---------------------------------------------------------------------------


def test_readers_in_other_threads_see_every_record_in_order_while_writer_appends(
    journal: Journal,
) -> None:
    rng = random.Random(7)
    sizes = [rng.randint(1, 10) for _ in range(200)]
    total = sum(sizes)
    seen: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def write() -> None:
        n = 0
        for size in sizes:
            journal.append(evs(n, size))
            n += size

    def read(reader: int) -> None:
        got: list[int] = []
        after = 0
        deadline = time.monotonic() + 30
        try:
            while after < total and time.monotonic() < deadline:
                for rec in journal.read_after(after, limit=17):
                    got.append(rec.seq)
                    assert rec.id == f"ev-{rec.seq - 1:08d}"
                    after = rec.seq
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        seen[reader] = got

    threads = [threading.Thread(target=read, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=write))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert all(seen[i] == list(range(1, total + 1)) for i in range(4))


def test_reads_do_not_wait_for_an_open_write_transaction(path: Path) -> None:
    with Journal(path) as j:
        j.append(evs(0, 3))
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # holds the write lock, uncommitted
            other.execute(
                "INSERT INTO events (id, type, ts, day, request_id, v, data) "
                "VALUES ('uncommitted', 't', 'ts', '2025-03-01', NULL, 1, '{}')"
            )
            started = time.monotonic()
            assert [r.seq for r in j.read_after(0)] == [1, 2, 3]
            assert j.last_seq() == 3
            assert time.monotonic() - started < 1.0  # the busy timeout is 10 s
            other.execute("ROLLBACK")
        finally:
            other.close()


# --- crash safety --------------------------------------------------------------------------

CHILD = """
import sys
from pathlib import Path
from hallctl.journal import Journal, PendingEvent
journal = Journal(Path(sys.argv[1]))
run, n = sys.argv[2], 0
while True:
    size = n % 7 + 1
    batch = [
        PendingEvent(f"{run}-{n + i}", "ticket.issued", "2025-03-01T09:00:00+08:00",
                     "2025-03-01", None, 1, '{"n": %d}' % (n + i))
        for i in range(size)
    ]
    last = journal.append(batch)[-1]
    n += size
    print("ack", last.seq, last.id, flush=True)
"""


def test_every_acknowledged_append_survives_kill_9_and_seqs_stay_gap_free(path: Path) -> None:
    rng = random.Random()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    acked: dict[int, str] = {}
    for run in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), f"run{run}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        out = child.stdout
        assert out is not None
        lines: list[str] = []
        # Keep draining stdout so the child never blocks on a full pipe when it is killed.
        drain = threading.Thread(target=lines.extend, args=(out,))
        drain.start()
        deadline = time.monotonic() + 20
        while not any(x.startswith("ack ") for x in lines) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL  # killed while still appending
        drain.join()
        out.close()
        for line in lines:
            # stdout also carries structlog lines; a torn last line was never acknowledged.
            if line.startswith("ack ") and line.endswith("\n"):
                _, seq, event_id = line.split()
                acked[int(seq)] = event_id

        with Journal(path) as j:
            stored = {r.seq: r.id for r in j.replay()}
            assert list(stored) == list(range(1, j.last_seq() + 1))  # gap-free from 1
        assert {seq: stored.get(seq) for seq in acked} == acked
    assert len(acked) > 3, "the child never got going"


# --- cursors -------------------------------------------------------------------------------


def test_cursor_of_an_unknown_sink_is_zero(journal: Journal) -> None:
    assert journal.cursor("mqtt") == 0


def test_cursors_are_per_sink_and_survive_reopen(path: Path) -> None:
    with Journal(path) as j:
        j.append(evs(0, 10))
        j.set_cursor("mqtt", 7)
        j.set_cursor("audit", 2)
        j.set_cursor("mqtt", 9)
    with Journal(path) as j:
        assert (j.cursor("mqtt"), j.cursor("audit")) == (9, 2)


def test_a_cursor_may_move_back_but_never_beyond_the_log(journal: Journal) -> None:
    journal.append(evs(0, 5))
    journal.set_cursor("mqtt", 5)
    journal.set_cursor("mqtt", 1)  # a sink may choose to re-send
    assert journal.cursor("mqtt") == 1
    with pytest.raises(ValueError, match="last seq is 5"):
        journal.set_cursor("mqtt", 6)
    with pytest.raises(ValueError):
        journal.set_cursor("mqtt", -1)
    assert journal.cursor("mqtt") == 1


# --- snapshots -----------------------------------------------------------------------------


def test_no_snapshot_loads_as_none(journal: Journal) -> None:
    assert journal.load_snapshot() is None


def test_latest_snapshot_wins_and_only_the_latest_two_are_kept(path: Path) -> None:
    with Journal(path) as j:
        j.append(evs(0, 30))
        for seq in (10, 30, 20):
            j.save_snapshot(seq, f"state@{seq}".encode())
        assert j.load_snapshot() == (30, b"state@30")
    with Journal(path) as j:
        assert j.load_snapshot() == (30, b"state@30")
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT seq FROM snapshots ORDER BY seq").fetchall() == [(20,), (30,)]
    finally:
        raw.close()


def test_a_snapshot_beyond_the_log_is_refused(journal: Journal) -> None:
    journal.append(evs(0, 3))
    with pytest.raises(ValueError):
        journal.save_snapshot(4, b"x")
    assert journal.load_snapshot() is None


# --- prune ---------------------------------------------------------------------------------


@pytest.fixture
def three_days(journal: Journal) -> Journal:
    """Seqs 1-10 on 03-01, 11-20 on 03-02, 21-30 on 03-03."""
    for i, day in enumerate(("2025-03-01", "2025-03-02", "2025-03-03")):
        journal.append(evs(i * 10, 10, day))
    return journal


def seqs(journal: Journal) -> list[int]:
    return [r.seq for r in journal.replay()]


def test_prune_without_a_snapshot_deletes_nothing(three_days: Journal) -> None:
    three_days.set_cursor("mqtt", 30)
    assert three_days.prune("2025-03-03", ["mqtt"]) == 0
    assert seqs(three_days) == list(range(1, 31))


def test_prune_never_passes_the_slowest_sink(three_days: Journal) -> None:
    three_days.save_snapshot(30, b"s")
    three_days.set_cursor("mqtt", 25)
    three_days.set_cursor("audit", 5)
    assert three_days.prune("2025-03-03", ["mqtt", "audit"]) == 5
    assert seqs(three_days) == list(range(6, 31))


def test_prune_never_passes_a_sink_that_has_no_cursor_yet(three_days: Journal) -> None:
    three_days.save_snapshot(30, b"s")
    three_days.set_cursor("mqtt", 30)
    assert three_days.prune("2025-03-03", ["mqtt", "new-sink"]) == 0


def test_prune_never_deletes_events_after_the_latest_snapshot(three_days: Journal) -> None:
    three_days.save_snapshot(8, b"s")
    three_days.set_cursor("mqtt", 30)
    assert three_days.prune("2025-03-03", ["mqtt"]) == 8
    assert seqs(three_days) == list(range(9, 31))


def test_prune_only_deletes_days_before_the_given_day(three_days: Journal) -> None:
    three_days.save_snapshot(30, b"s")
    three_days.set_cursor("mqtt", 30)
    assert three_days.prune("2025-03-02", ["mqtt"]) == 10
    assert seqs(three_days) == list(range(11, 31))
    assert three_days.prune("2025-03-02", ["mqtt"]) == 0


def test_seqs_are_never_reused_after_prune_empties_the_journal(three_days: Journal) -> None:
    three_days.save_snapshot(30, b"s")
    three_days.set_cursor("mqtt", 30)
    assert three_days.prune("2025-03-04", ["mqtt"]) == 30
    assert three_days.read_after(0) == []
    assert three_days.last_seq() == 30
    assert three_days.append([ev(99, "2025-03-04")])[0].seq == 31


@pytest.mark.parametrize("day", ["3/3/2025", "20250303", "2025-3-3", "2025-02-30"])
def test_prune_rejects_a_day_that_is_not_yyyy_mm_dd(three_days: Journal, day: str) -> None:
    three_days.save_snapshot(30, b"s")
    with pytest.raises(ValueError):
        three_days.prune(day, [])
    assert len(seqs(three_days)) == 30


def read_archive(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_prune_archives_the_deleted_rows_per_day_before_deleting(
    three_days: Journal, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    three_days.save_snapshot(30, b"s")
    three_days.set_cursor("mqtt", 15)
    assert three_days.prune("2025-03-03", ["mqtt"], archive_dir=archive) == 15
    three_days.set_cursor("mqtt", 30)
    assert three_days.prune("2025-03-03", ["mqtt"], archive_dir=archive) == 5

    assert sorted(p.name for p in archive.iterdir()) == [
        "2025-03-01.jsonl.gz",
        "2025-03-02.jsonl.gz",
    ]
    day2 = read_archive(archive / "2025-03-02.jsonl.gz")  # written by both prunes
    assert [row["seq"] for row in day2] == list(range(11, 21))
    first = read_archive(archive / "2025-03-01.jsonl.gz")[0]
    assert first == {
        "seq": 1,
        "id": "ev-00000000",
        "type": "ticket.issued",
        "ts": "2025-03-01T09:00:00+08:00",
        "day": "2025-03-01",
        "request_id": None,
        "v": 1,
        "data": {"ticket": "A000", "n": 0},
    }
    assert seqs(three_days) == list(range(21, 31))


# --- replay --------------------------------------------------------------------------------


def test_replay_streams_100k_events_in_order(journal: Journal) -> None:
    for start in range(0, 100_000, 10_000):
        journal.append(evs(start, 10_000))
    stream = journal.replay()
    assert next(stream).seq == 1
    # Lazy: records appended after the stream started still come out of it.
    journal.append(evs(100_000, 5))
    expected = 2
    for rec in stream:
        assert rec.seq == expected
        expected += 1
    assert expected == 100_006
    assert next(journal.replay(after=99_999)).seq == 100_000


# --- opening -------------------------------------------------------------------------------


def test_opening_in_a_missing_directory_creates_it(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "hallctl" / "journal.db"
    with Journal(path) as j:
        j.append([ev(1)])
    assert path.is_file()


def test_a_file_that_is_not_a_database_gives_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an sqlite file, just some text " * 200)
    with pytest.raises(JournalError, match=r"garbage\.db"):
        Journal(path)


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE customers (name TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(JournalError, match=r"other\.db.*not a hallctl journal"):
        Journal(path)
    raw = sqlite3.connect(path)
    try:
        tables = raw.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        assert tables == [("customers",)]
    finally:
        raw.close()


def test_a_journal_from_a_newer_hallctl_is_refused(path: Path) -> None:
    Journal(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(JournalError, match="upgrade hallctl"):
        Journal(path)


def test_a_directory_in_place_of_the_file_gives_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "journal.db").mkdir()
    with pytest.raises(JournalError, match=r"journal\.db"):
        Journal(tmp_path / "journal.db")


def test_a_closed_journal_refuses_reads_and_writes(path: Path) -> None:
    j = Journal(path)
    j.close()
    j.close()  # idempotent
    with pytest.raises(JournalError, match="closed"):
        j.append([ev(1)])
    with pytest.raises(JournalError, match="closed"):
        j.read_after(0)


def test_every_connection_keeps_a_small_page_cache(journal: Journal) -> None:
    # the daemon's memory budget (docs/performance.md): SQLite's default is 2 MB a connection
    assert journal._writer.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    with journal._reader() as conn:
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB


def test_a_cursor_save_leaves_the_writer_fsyncing_every_append(journal: Journal) -> None:
    journal.append([ev(1)])
    journal.set_cursor("mqtt", 1)  # not fsynced on its own: the next append's fsync carries it
    assert journal._writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again
    with pytest.raises(ValueError, match="outside the journal"):
        journal.set_cursor("mqtt", 5)
    assert journal._writer.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert journal.cursor("mqtt") == 1
