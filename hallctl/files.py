"""The data directory and the journal are private: 0750 and 0640, whatever the umask.

The journal holds staff names and keyed hashes of ID numbers; under a usual umask (022) the
directory came out 0755 and the journal 0644, readable by every local user. Group access is
kept: the control socket's group (docs/operations.md) reads status through it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

import structlog

log = structlog.get_logger(__name__)

DIR_MODE: Final = 0o750
FILE_MODE: Final = 0o640


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0750; take "other" access off an existing one.

    A shared directory (sticky bit, like /tmp) or one owned by someone else is left alone.
    """
    path = Path(path)
    try:
        path.mkdir(mode=DIR_MODE, parents=True)
    except FileExistsError:
        st = path.stat()
        if st.st_mode & 0o007 and not st.st_mode & stat.S_ISVTX and st.st_uid == os.geteuid():
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o007)
            log.info("files.data_dir_tightened", path=str(path), mode=oct(st.st_mode & 0o7770))
        return path
    os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing; either way its mode becomes 0640.

    SQLite gives the -wal and -shm files the database file's mode, so the journal's
    companions follow.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path
