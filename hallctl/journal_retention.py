"""Retention: which events prune() may delete, their archive as gzipped JSON lines, and the
delete itself."""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from hallctl import journal_snapshots
from hallctl.files import private_dir, private_file
from hallctl.journal_records import Record, json_string

__all__ = ["archive", "delete_up_to", "last_deletable"]


def last_deletable(conn: sqlite3.Connection, sinks: list[str]) -> int:
    """The last seq prune() may delete: none past the latest snapshot (state must stay
    rebuildable from snapshot + later events) nor past the slowest of ``sinks``."""
    bound = journal_snapshots.latest_seq(conn)
    for sink in sinks:
        row = conn.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        bound = min(bound, int(row[0]) if row else 0)
    return bound


def delete_up_to(conn: sqlite3.Connection, before_day: str, bound: int) -> int:
    """Delete, in the caller's transaction, the events of days before ``before_day`` up to
    ``bound``, and the answers no event left holds; returns the number of events deleted."""
    deleted: int = conn.execute(
        "DELETE FROM events WHERE day < ? AND seq <= ?", (before_day, bound)
    ).rowcount
    conn.execute(
        "DELETE FROM responses WHERE seq <= ? AND seq < "
        "(SELECT COALESCE(MIN(seq), ?) FROM events)",
        (bound, bound + 1),
    )
    return deleted


def archive(archive_dir: Path, records: Iterable[Record]) -> None:
    """Append ``records`` to ``archive_dir/<day>.jsonl.gz``, one JSON line each, fsynced."""
    private_dir(archive_dir)
    files: dict[str, gzip.GzipFile] = {}
    raw: dict[str, io.BufferedWriter] = {}
    try:
        for rec in records:
            out = files.get(rec.day)
            if out is None:
                name = private_file(archive_dir / f"{rec.day}.jsonl.gz")
                fh = open(name, "ab")  # noqa: SIM115
                raw[rec.day] = fh
                # "ab" adds a gzip member; gzip readers read concatenated members.
                out = files[rec.day] = gzip.GzipFile(fileobj=fh, mode="ab")
            out.write(_archive_line(rec))
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
        f'{{"seq":{rec.seq},"id":{json_string(rec.id)},"type":{json_string(rec.type)},'
        f'"ts":{json_string(rec.ts)},"day":{json_string(rec.day)},'
        f'"request_id":{json.dumps(rec.request_id, ensure_ascii=False)},'
        f'"v":{rec.v},"data":{rec.data}}}\n'
    ).encode()
