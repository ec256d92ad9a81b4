"""Why the daemon could not start, as one sentence for the operator (not a traceback)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hallctl.disk_full import disk_full_message, is_disk_full
from hallctl.journal import JournalBehind, JournalError

# What starting the daemon may raise for reasons of its data directory, not of its code.
STARTUP_ERRORS: tuple[type[BaseException], ...] = (
    JournalError, JournalBehind, sqlite3.Error, OSError
)


def startup_message(exc: BaseException, data_dir: Path) -> str:
    if is_disk_full(exc, data_dir):
        return (
            f"cannot start: {disk_full_message(data_dir)}. Free some space (old archives, "
            "logs) and start again; the journal itself is intact."
        )
    if isinstance(exc, JournalBehind | JournalError):
        return str(exc)
    return f"cannot start: {type(exc).__name__}: {exc}"
