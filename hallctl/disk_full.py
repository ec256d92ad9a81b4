"""Telling a full disk apart from other storage failures, and saying so plainly.

SQLite reports a full disk as SQLITE_FULL ("database or disk is full"), but when the WAL index
(-shm) or the WAL itself cannot grow it may report SQLITE_IOERR ("disk I/O error"); the OS says
ENOSPC or EDQUOT. An I/O error counts as a full disk when the journal's file system has next to
no space left.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Final

LOW_SPACE: Final = 256 * 1024  # bytes; below this an SQLite I/O error is taken as a full disk
_FULL_ERRNOS: Final = {errno.ENOSPC, errno.EDQUOT}


def free_bytes(where: Path) -> int | None:
    """Bytes an unprivileged writer may still use on ``where``'s file system."""
    path = Path(where)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def is_disk_full(exc: BaseException, where: Path | None = None) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if isinstance(seen, sqlite3.Error):
            code = getattr(seen, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == sqlite3.SQLITE_FULL:
                return True
            if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR and where is not None:
                free = free_bytes(where)
                return free is not None and free < LOW_SPACE
        seen = seen.__cause__ or seen.__context__
    return False


def disk_full_message(where: Path) -> str:
    free = free_bytes(where)
    left = "" if free is None else f", {free // 1024} KiB free"
    return f"disk full: the file system of {where} has no room for the journal{left}"
