"""The data directory and the journal are private (0750 / 0640), whatever the umask.

They hold staff names and keyed hashes; under umask 022 they used to come out 0755 / 0644.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hallctl.daemon import data_dir_lock
from hallctl.journal import Journal, PendingEvent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_a_new_data_dir_and_journal_are_private(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "var" / "hall"
    with data_dir_lock(data), Journal(data / "journal.db") as journal:
        journal.append([PendingEvent("e1", "day.started", "t", "2026-11-25", None, 1, "{}")])
        archive = tmp_path / "var" / "hall" / "archive"
        assert mode(data) == 0o750
        for name in ("journal.db", "journal.db-wal", "journal.db-shm"):
            assert mode(data / name) == 0o640, name
        journal.save_snapshot(1, b"x")
        journal.prune("2026-11-26", [], archive_dir=archive)
        assert mode(archive) == 0o750
        assert [mode(p) for p in archive.iterdir()] == [0o640]


def test_an_existing_journal_readable_by_everyone_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    with Journal(data / "journal.db"):
        pass
    os.chmod(data / "journal.db", 0o644)
    with data_dir_lock(data), Journal(data / "journal.db"):
        assert mode(data / "journal.db") == 0o640
        assert mode(data) == 0o750


def test_a_shared_directory_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with Journal(shared / "journal.db"):
        assert mode(shared) == 0o1777
        assert mode(shared / "journal.db") == 0o640
