"""Daily facts kept in the journal's database: each closed day is folded once, then read back.

Why stored daily facts rather than an index on the events table: a report needs every ticket's
wait and service time (medians and p90 are not additive), and folding 20,000 tickets' events
takes about a second per day. A closed day never changes (the journal is append-only and a day
is a hall-local business day), so its facts are built once and kept in ``supervision_days``,
~20 bytes a ticket; a month reads 30 rows, a year 365. The day in progress is folded again when
the journal has moved on since its stored row. Days already pruned from the journal are read
from the archive (``<data_dir>/archive/<day>.jsonl.gz``).

The table lives in the journal's file but is not part of the journal's schema: it is a cache.
Dropping it loses nothing; it is rebuilt from the events (or their archive) on the next report.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from zoneinfo import ZoneInfo

from hallctl.supervision.facts import FACTS_VERSION, DayFacts, fold_day

_SCHEMA = """CREATE TABLE IF NOT EXISTS supervision_days (
    day TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    tickets BLOB NOT NULL,
    extra TEXT NOT NULL,
    cases TEXT NOT NULL,
    alarms TEXT NOT NULL
)"""


class FactStore:
    """Reads the journal file at ``path`` (the daemon may be writing it at the same time)."""

    def __init__(self, path: Path, tz: ZoneInfo, archive_dir: Path | None = None) -> None:
        if not Path(path).exists():
            raise FileNotFoundError(f"no journal at {path}")
        self.tz = tz
        self.archive_dir = archive_dir
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute(_SCHEMA)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # -- reading ----------------------------------------------------------------------------

    def latest_day(self) -> str | None:
        row = self._db.execute("SELECT max(day) FROM events").fetchone()
        return row[0] if row and row[0] else None

    def facts(self, day: str, alarms: bool = True) -> DayFacts:
        """A day's facts; ``alarms=False`` leaves out the alarm list (counts stay): a year of
        busy days has hundreds of thousands of alarms, and month reports show counts."""
        last_seq = self._last_seq(day)
        detail = "alarms" if alarms else "NULL"
        row = self._db.execute(
            f"SELECT version, last_seq, tickets, extra, cases, {detail} "
            "FROM supervision_days WHERE day = ?",
            (day,),
        ).fetchone()
        if row is not None and row[0] == FACTS_VERSION and row[1] >= last_seq:
            return DayFacts.from_stored(day, row[2], row[3], row[4], row[5])
        facts = fold_day(day, self.tz, self._records(day, last_seq))
        self._db.execute(
            "INSERT OR REPLACE INTO supervision_days VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                day,
                FACTS_VERSION,
                last_seq,
                facts.tickets.tobytes(),
                facts.extra_json(),
                json.dumps(facts.cases, ensure_ascii=False),
                json.dumps(facts.alarms, ensure_ascii=False),
            ),
        )
        if not alarms:
            facts.alarms = []
        return facts

    def days(self, first: date, last: date, alarms: bool = True) -> list[DayFacts]:
        out = []
        day = first
        while day <= last:
            out.append(self.facts(day.isoformat(), alarms))
            day += timedelta(days=1)
        return out

    def case_progress_after(self, day: date) -> list[dict[str, list[Any]]]:
        """The case lists of the days after ``day`` (follow-ups of cases opened in a report's
        range): only that small column is read for days whose stored facts are current."""
        latest = self.latest_day()
        if latest is None or latest <= day.isoformat():
            return []
        stored = {
            d: (version, last_seq, cases)
            for d, version, last_seq, cases in self._db.execute(
                "SELECT day, version, last_seq, cases FROM supervision_days WHERE day > ?",
                (day.isoformat(),),
            )
        }
        out = []
        d = day + timedelta(days=1)
        while d.isoformat() <= latest:
            key = d.isoformat()
            row = stored.get(key)
            if row is not None and row[0] == FACTS_VERSION and row[1] >= self._last_seq(key):
                out.append(json.loads(row[2]))
            else:
                out.append(self.facts(key, alarms=False).cases)
            d += timedelta(days=1)
        return out

    def _last_seq(self, day: str) -> int:
        row = self._db.execute(
            "SELECT coalesce(max(seq), 0) FROM events WHERE day = ?", (day,)
        ).fetchone()
        return int(row[0])

    def _records(self, day: str, last_seq: int) -> Iterator[tuple[str, str, str]]:
        if self.archive_dir is not None:
            yield from self._archived(day)
        yield from self._db.execute(
            "SELECT type, ts, data FROM events WHERE day = ? AND seq <= ? ORDER BY seq",
            (day, last_seq),
        )

    def _archived(self, day: str) -> Iterator[tuple[str, str, str]]:
        assert self.archive_dir is not None
        path = self.archive_dir / f"{day}.jsonl.gz"
        if not path.exists():
            return
        seen: set[str] = set()  # a crash between archiving and pruning archives rows twice
        with contextlib.closing(gzip.open(path, "rt", encoding="utf-8")) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        present = {
            r[0] for r in self._db.execute("SELECT id FROM events WHERE day = ?", (day,))
        }
        for r in sorted(rows, key=lambda r: r["seq"]):
            if r["id"] in seen or r["id"] in present:
                continue
            seen.add(r["id"])
            yield r["type"], r["ts"], json.dumps(r["data"], ensure_ascii=False)
