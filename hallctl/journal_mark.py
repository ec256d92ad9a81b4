"""The journal's high-water mark: the last acknowledged seq, kept outside SQLite's WAL.

If the WAL's tail is lost (disk or filesystem damage, a torn WAL, a restored old copy), SQLite
opens the journal without complaint and the hall would forget acknowledged tickets and issue
their numbers again. After every durable append the journal writes its last seq here, in place
(one ``pwrite`` of a fixed-width line, no fsync: see docs/performance.md); on open, a journal
whose last seq is below the mark is refused with the recovery command.

The mark only ever lags the journal (it is written after the commit), so it raises no false
alarm: a crash before the write leaves it one batch behind, which the check tolerates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from hallctl.files import private_file

WIDTH: Final = 20  # digits; a fixed width lets every update overwrite the line in place

RECOVERY: Final = "hallctl journal accept-loss"


class JournalBehind(Exception):
    """The journal ends before what was acknowledged: its tail was lost."""

    def __init__(self, path: Path, last_seq: int, mark: int) -> None:
        self.path, self.last_seq, self.mark = path, last_seq, mark
        super().__init__(
            f"journal {path} ends at seq {last_seq}, but events up to seq {mark} were "
            f"acknowledged (high-water mark in {mark_path(path)}): the journal's tail was lost "
            f"(disk or filesystem damage, or an older copy put back). hallctl does not start on "
            f"it: it would forget {mark - last_seq} acknowledged events and issue their ticket "
            f"numbers again. Restore the journal (journal.db with its -wal file) from a backup "
            f"and start again, or accept the loss with `{RECOVERY} -c <hall file>` "
            f"(docs/operations.md, \"Journal tail lost\")."
        )


def mark_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".hwm")


class HighWaterMark:
    """The mark file, held open; `write(seq)` overwrites it in place."""

    def __init__(self, journal: Path) -> None:
        self.path = mark_path(journal)
        private_file(self.path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)

    def read(self) -> int | None:
        """The mark, or None for a new or unreadable file (then nothing can be checked)."""
        text = os.pread(self._fd, WIDTH + 1, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None

    def write(self, seq: int) -> None:
        os.pwrite(self._fd, f"{seq:0{WIDTH}d}\n".encode(), 0)

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def check(
        self, journal: Path, last_seq: int, mark: int | None, *, accept_loss: bool = False
    ) -> int | None:
        """Raise JournalBehind when the journal (``last_seq``) is behind ``mark`` (read before
        it); set the mark to the journal's end. Returns the old mark when a loss was accepted.
        """
        lost = mark is not None and last_seq < mark
        if lost and not accept_loss:
            assert mark is not None
            raise JournalBehind(journal, last_seq, mark)
        if mark is None or last_seq != mark:  # never lowered but by an accepted loss
            self.write(last_seq)
            self.sync()
        return mark if lost else None
