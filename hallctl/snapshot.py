"""The snapshot: its encoding, and the fold of the journal a restart and a snapshot share.

The state is pickled with each ticket as the tuple of its fields. A busy day holds 20,000
tickets. Pickled as slotted dataclasses, each carries a dict of its field names (2.9 MB,
140-170 ms to pickle and as long to load); as ``Ticket(*fields)`` they are 2.1 MB and half the
time both ways: the snapshot process (hallctl/snapshot_process.py) loads one when it starts and
writes one a snapshot, and a restart loads one.

A blob is tagged with its format, so another version falls back to a full replay.
"""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from typing import Any

import structlog

from hallctl import __version__
from hallctl.config.models import HallConfig
from hallctl.hall.core import Hall
from hallctl.hall.state import HallState, Ticket
from hallctl.journal import Journal

__all__ = ["SNAPSHOT_FORMAT", "Gap", "dumps", "fold", "fold_onto", "loads", "snapshot_blob"]

log = structlog.get_logger("hallctl.snapshot")

# 4: the arrival profile (hall/eta.py); 5: tickets as tuples, without appointment and id_hash
SNAPSHOT_FORMAT = f"hallstate/5/{__version__}"

_ticket_fields = attrgetter(*(f.name for f in fields(Ticket)))


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if obj.__class__ is Ticket:
            return Ticket, _ticket_fields(obj)  # rebuilt as Ticket(*fields), in field order
        return NotImplemented


def dumps(state: HallState) -> bytes:
    out = io.BytesIO()
    _Pickler(out, protocol=5).dump(state)
    return out.getvalue()


def loads(payload: bytes) -> HallState:
    state = pickle.loads(payload)  # our own file, written by this version
    if not isinstance(state, HallState):
        raise TypeError(f"a snapshot holds a HallState, not {type(state).__name__}")
    return state


def snapshot_blob(state: HallState) -> bytes:
    """A snapshot tagged with its format, so another version falls back to a full replay."""
    return SNAPSHOT_FORMAT.encode() + b"\n" + dumps(state)


def fold(config: HallConfig, journal: Journal, upto: int | None = None) -> tuple[Hall, int, int]:
    """The hall as the journal has it up to seq ``upto`` (default: its end).

    The latest snapshot (if this version wrote it), then each later event applied at the time
    it was recorded: (hall, snapshot seq, events replayed). A restart and the snapshot process
    both fold with this, so a snapshot is what a restart at its seq would have rebuilt.
    """
    state: HallState | None = None
    after = 0
    snap = journal.load_snapshot()
    if snap is not None and (upto is None or snap[0] <= upto):
        seq, blob = snap
        try:
            fmt, payload = blob.split(b"\n", 1)
            if fmt.decode() == SNAPSHOT_FORMAT:
                state = loads(payload)
                after = seq
        except Exception as e:  # a snapshot is an optimisation: fall back to full replay
            log.warning("engine.snapshot_unreadable", error=str(e))
    hall = Hall(config, state)
    count = 0
    for rec in journal.replay(after):
        if upto is not None and rec.seq > upto:
            break
        hall.apply(rec.type, json.loads(rec.data), datetime.fromisoformat(rec.ts).timestamp())
        count += 1
    return hall, after, count


class Gap(Exception):
    """The journal does not hold every event after the seq a hall was folded to."""


def fold_onto(hall: Hall, journal: Journal, after: int, upto: int) -> int:
    """Apply the journal's events ``after`` < seq <= ``upto`` to ``hall``, folded up to ``after``
    (by ``fold`` and earlier calls): the snapshot process's next step. Returns their number.

    Each seq must follow the one before: an append numbers its events on from the last seq,
    so a hole means events gone under the caller (pruned), and ``Gap`` is raised, ``hall``
    half folded: fold afresh. Raises RuntimeError when the
    journal ends before ``upto`` (the caller asked for a seq not durable).
    """
    count = 0
    expected = after + 1
    for rec in journal.replay(after):
        if rec.seq > upto:
            break
        if rec.seq != expected:
            raise Gap(f"seq {rec.seq} follows {expected - 1}")
        hall.apply(rec.type, json.loads(rec.data), datetime.fromisoformat(rec.ts).timestamp())
        count += 1
        expected += 1
    if expected != upto + 1:
        raise RuntimeError(f"the journal ends at {expected - 1}, before {upto}")
    return count
