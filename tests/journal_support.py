"""Helpers for tests of processes that read the journal beside the daemon."""

from __future__ import annotations

from pathlib import Path

from hallctl.engine import HallEngine
from hallctl.journal_mark import mark_path


async def a_mark_one_behind(engine: HallEngine) -> Path:
    """Journal a few tickets, then set the high-water mark one seq behind the journal's end, as
    if the daemon's write of it were due; returns the mark's file. A reader beside the daemon
    must leave it so: only the appender moves the mark."""
    for _ in range(3):
        await engine.execute({"action": "take_ticket", "service": "SB"})
    hwm = mark_path(engine.journal.path)
    assert int(hwm.read_text()) == engine.last_seq()
    hwm.write_text(f"{engine.last_seq() - 1:020d}\n")
    return hwm
