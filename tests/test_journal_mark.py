"""A journal whose tail was lost is refused at start, with a recovery command.

The probe tore the WAL's tail off: hallctl started silently, forgot acknowledged tickets and
issued their numbers again. The journal now keeps a high-water mark outside the WAL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hallctl.journal import Journal, JournalBehind, PendingEvent
from hallctl.journal_mark import mark_path
from tests.hall.conftest import SMALL_HALL

WRITER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from hallctl.journal import Journal, PendingEvent
    j = Journal(Path(sys.argv[1]))
    for n in range(int(sys.argv[2])):
        j.append([PendingEvent(f"e{n}", "ticket.issued", "t", "2026-11-25", None, 1, "{}")])
    os._exit(0)  # like kill -9: no checkpoint, the WAL stays as it is
    """
)


def _write_and_die(path: Path, events: int) -> None:
    subprocess.run([sys.executable, "-c", WRITER, str(path), str(events)], check=True)


def _event(n: int) -> PendingEvent:
    return PendingEvent(f"x{n}", "ticket.issued", "t", "2026-11-25", None, 1, "{}")


def test_a_torn_wal_is_refused_with_the_recovery_command(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _write_and_die(path, 40)
    wal = path.with_name("journal.db-wal")
    os.truncate(wal, wal.stat().st_size - 10 * 4120)  # the last frames are gone
    with pytest.raises(JournalBehind) as info:
        Journal(path)
    message = str(info.value)
    assert "seq 40" in message and "hallctl journal accept-loss" in message
    assert info.value.mark == 40 and info.value.last_seq < 40


def test_an_older_copy_put_back_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal(path) as j:
        j.append([_event(1)])
    backup = tmp_path / "backup.db"
    shutil.copy(path, backup)
    with Journal(path) as j:
        j.append([_event(2)])
    shutil.copy(backup, path)
    with pytest.raises(JournalBehind):
        Journal(path)


def test_a_deleted_journal_is_refused_while_its_mark_remains(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal(path) as j:
        j.append([_event(1)])
    path.unlink()
    with pytest.raises(JournalBehind):
        Journal(path)


def test_accepting_the_loss_lets_it_start_and_the_mark_follows_again(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _write_and_die(path, 30)
    wal = path.with_name("journal.db-wal")
    os.truncate(wal, wal.stat().st_size - 5 * 4120)
    with Journal(path, accept_loss=True) as j:
        last = j.last_seq()
        assert last < 30
    with Journal(path) as j:  # consistent again
        j.append([_event(99)])
    assert int(mark_path(path).read_text()) == last + 1


def test_a_journal_and_its_mark_agree_after_normal_use_and_crashes(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _write_and_die(path, 25)
    with Journal(path) as j:  # a crash without damage is not a loss
        assert j.last_seq() == 25
    assert int(mark_path(path).read_text()) == 25
    assert oct(mark_path(path).stat().st_mode & 0o777) == "0o640"


def test_hallctl_refuses_to_start_and_accept_loss_recovers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hall = tmp_path / "hall.yaml"
    hall.write_text(SMALL_HALL + f"data_dir: {data}\n", encoding="utf-8")
    _write_and_die(data / "journal.db", 20)
    wal = data / "journal.db-wal"
    os.truncate(wal, wal.stat().st_size - 4 * 4120)
    env = {**os.environ, "HALLCTL_LOG_LEVEL": "warning"}
    run = subprocess.run([sys.executable, "-m", "hallctl.cli", "run", "-c", str(hall)],
                         capture_output=True, text=True, timeout=30, env=env)
    assert run.returncode == 1
    assert "hallctl journal accept-loss" in run.stderr and "Traceback" not in run.stderr
    accept = subprocess.run(
        [sys.executable, "-m", "hallctl.cli", "journal", "accept-loss", "-c", str(hall)],
        capture_output=True, text=True, timeout=30, env=env,
    )
    assert accept.returncode == 0, accept.stderr
    assert "loss accepted" in accept.stdout and "..20 are gone" in accept.stdout
    again = subprocess.run(
        [sys.executable, "-m", "hallctl.cli", "journal", "accept-loss", "-c", str(hall)],
        capture_output=True, text=True, timeout=30, env=env,
    )
    assert "consistent" in again.stdout
