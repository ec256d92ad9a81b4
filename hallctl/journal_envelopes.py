"""Forwarding envelopes as SQLite builds them: one row for a whole batch of records.

Rows from the journal's `plain_from` on hold an id, type and ts append() checked need no JSON
escaping (journal_checks), so their envelopes put them between plain quotes; older rows go
through `json_quote`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final, NamedTuple

from hallctl.journal_records import Record

__all__ = ["ENVELOPES_SQL", "PLAIN_ENVELOPES_SQL", "Envelopes"]


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


ENVELOPES_SQL: Final = _envelopes_sql(plain=False)
PLAIN_ENVELOPES_SQL: Final = _envelopes_sql(plain=True)
