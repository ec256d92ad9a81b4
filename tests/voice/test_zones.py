"""Zones: one announcement at a time, in order; newer calls supersede; stale and quiet drop."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from hallctl.voice.clips import ClipSet
from hallctl.voice.compose import Composer
from hallctl.voice.outputs import FileOutput
from hallctl.voice.pcm import read_wav
from hallctl.voice.queue import Call, Dropped, ZoneQueue
from hallctl.voice.zones import Played, ZonePlayer
from tests.voice.conftest import spell, voice_hall

SPEED = 40.0  # the file speaker holds each announcement for 1/40 of its length


def call(
    seq: int, window: int, ticket: str = "", at: float = 0.0, kind: str = "called",
    service: str | None = None,
) -> Call:
    name = "综合受理窗口" if window == 6 else f"{window}号窗口"  # as in the hall file
    return Call(seq, f"ticket.{kind}", ticket or f"A{seq:03d}", window, name, at, service)


def test_calls_wait_in_order() -> None:
    q = ZoneQueue(max_age_s=10)
    for i, w in enumerate([1, 2, 3], 1):
        assert q.push(call(i, w)) == []
    assert [q.pop(1.0)[0].seq for _ in range(3)] == [1, 2, 3]  # type: ignore[union-attr]
    assert q.pop(1.0) == (None, [])


def test_a_recall_supersedes_the_waiting_call_of_its_window_in_place() -> None:
    q = ZoneQueue(max_age_s=10)
    q.push(call(1, 5, "A012"))
    q.push(call(2, 6, "A013"))
    dropped = q.push(call(3, 5, "A012", kind="recalled"))
    assert dropped == [Dropped(call(1, 5, "A012"), "superseded")]
    assert [(c.seq, c.trigger) for c in q.waiting] == [(3, "ticket.recalled"), (2, "ticket.called")]
    q.push(call(4, 6, "A020"))  # the window called its next ticket: A013 is out of date
    assert [c.ticket for c in q.waiting] == ["A012", "A020"]


def test_a_transfer_is_about_its_ticket_not_its_window() -> None:
    q = ZoneQueue(max_age_s=10)
    q.push(call(1, 5, "A012"))
    q.push(call(2, 6, "A013"))
    # A012's call is still waiting when window 5 transfers it: only the transfer is worth saying
    assert q.push(call(3, 5, "A012", kind="transferred", service="SB")) == [
        Dropped(call(1, 5, "A012"), "superseded")
    ]
    # window 5 calls its next ticket: that does not silence "A012 go to 社保"
    assert q.push(call(4, 5, "A014")) == []
    assert [(c.seq, c.ticket) for c in q.waiting] == [(3, "A012"), (2, "A013"), (4, "A014")]
    # A012 is called from its new line (window 3) before the transfer was said: the call wins,
    # in the transfer's place
    assert q.push(call(5, 3, "A012")) == [
        Dropped(call(3, 5, "A012", kind="transferred", service="SB"), "superseded")
    ]
    assert [c.seq for c in q.waiting] == [5, 2, 4]


def test_a_call_can_outdate_two_waiting_ones_and_takes_the_first_place() -> None:
    q = ZoneQueue(max_age_s=10)
    q.push(call(1, 5, "A012", kind="transferred", service="SB"))
    q.push(call(2, 3, "B001"))
    # window 3 calls A012 (its new line): both A012's transfer and window 3's older call go
    dropped = q.push(call(3, 3, "A012"))
    assert sorted(d.call.seq for d in dropped) == [1, 2]
    assert [c.seq for c in q.waiting] == [3]
    assert q.withdraw("A012") == [Dropped(call(3, 3, "A012"), "superseded")] and not q.waiting


def test_stale_calls_are_dropped_not_spoken_late() -> None:
    q = ZoneQueue(max_age_s=5)
    q.push(call(1, 1, at=0.0))
    q.push(call(2, 2, at=4.0))
    got, dropped = q.pop(now=6.0)
    assert got is not None and got.seq == 2
    assert [(d.call.seq, d.reason) for d in dropped] == [(1, "stale")]


class Recorder:
    def __init__(self) -> None:
        self.played: list[Played] = []
        self.drops: list[tuple[str, Dropped]] = []
        self.failures: list[str] = []

    def announced(self, played: Played) -> None:
        self.played.append(played)

    def dropped(self, zone: str, dropped: Dropped) -> None:
        self.drops.append((zone, dropped))

    def speaker_failed(self, zone: str, error: str) -> None:
        self.failures.append(error)

    def speaker_ok(self, zone: str) -> None:
        pass


def players(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path, zones: str
) -> tuple[dict[str, ZonePlayer], Recorder]:
    cfg = voice_hall(tmp_path, clip_dir, "  chime: false\n  repeat: 1\n" + zones)
    assert cfg.voice is not None
    rec = Recorder()
    out = {
        z.name: ZonePlayer(
            z,
            Composer(cfg.voice, clip_set),
            FileOutput(tmp_path / z.name, time_scale=SPEED),
            rec,
        )
        for z in cfg.voice.zones
    }
    return out, rec


async def _until_idle(ps: dict[str, ZonePlayer]) -> None:
    await asyncio.sleep(0.05)
    while any(len(p.queue) or p.playing for p in ps.values()):  # noqa: ASYNC110
        await asyncio.sleep(0.02)


TWO_ZONES = """  zones:
    - {name: east, windows: [1, 2, 3, 4, 5, 6], max_age_s: 60}
    - {name: west, windows: [7, 8, 9, 10, 11, 12], max_age_s: 60}
"""


async def test_a_burst_is_spoken_in_order_per_zone_never_overlapping(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    ps, rec = players(clip_dir, clip_set, tmp_path, TWO_ZONES)
    now = time.monotonic()
    burst = [call(seq, seq, f"A{seq:03d}", now) for seq in range(1, 13)]  # 12 windows call
    burst += [  # then, still within the burst, eight windows call again
        call(13, 2, "A002", now, "recalled"),
        call(14, 8, "A008", now, "recalled"),
        call(15, 3, "A013", now),
        call(16, 9, "A014", now),
        call(17, 5, "A005", now, "recalled"),
        call(18, 11, "A011", now, "recalled"),
        call(19, 6, "A015", now),
        call(20, 12, "A016", now),
    ]
    async with asyncio.TaskGroup() as tg:
        for c in burst:
            ps["east" if c.window <= 6 else "west"].submit(c)
        tasks = [tg.create_task(p.run()) for p in ps.values()]
        await _until_idle(ps)
        for t in tasks:
            t.cancel()
    # a window's newer call took the place of its waiting older one
    assert sorted(d.call.seq for _, d in rec.drops) == [2, 3, 5, 6, 8, 9, 11, 12]
    assert {d.reason for _, d in rec.drops} == {"superseded"}
    spoken = {z: [p.call.seq for p in rec.played if p.zone == z] for z in ps}
    assert spoken == {"east": [1, 13, 15, 4, 17, 19], "west": [7, 14, 16, 10, 18, 20]}
    for zone in ps:
        mine = [p for p in rec.played if p.zone == zone]
        for a, b in itertools.pairwise(mine):
            assert a.ended_at <= b.started_at, f"{zone}: {a.call.ticket} overlaps {b.call.ticket}"
    # the zones play side by side: west did not wait for east
    assert rec.played[1].zone != rec.played[0].zone
    # what reached the file speaker is what was announced, in the same order
    files = sorted((tmp_path / "west").glob("*.wav"))
    assert [int(f.stem.split("-")[-1]) for f in files] == spoken["west"]


async def test_stale_ones_are_dropped_under_a_pile_up(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    ps, rec = players(
        clip_dir, clip_set, tmp_path, "  zones: [{name: hall, max_age_s: 0.25}]\n"
    )
    p = ps["hall"]
    task = asyncio.create_task(p.run())
    now = time.monotonic()
    for i in range(1, 7):
        p.submit(call(i, i, at=now))
    await _until_idle(ps)
    task.cancel()
    spoken = [x.call.seq for x in rec.played]
    stale = [d.call.seq for _, d in rec.drops if d.reason == "stale"]
    assert spoken and stale and sorted(spoken + stale) == [1, 2, 3, 4, 5, 6]
    assert spoken == sorted(spoken) and max(spoken) < min(stale)
    assert all(x.started_at - x.call.queued_at <= 0.25 + 0.05 for x in rec.played)


async def test_quiet_hours_say_nothing(clip_dir: Path, clip_set: ClipSet, tmp_path: Path) -> None:
    ps, rec = players(
        clip_dir, clip_set, tmp_path, "  zones: [{name: hall, quiet_hours: ['00:00-24:00']}]\n"
    )
    task = asyncio.create_task(ps["hall"].run())
    ps["hall"].submit(call(1, 1, at=time.monotonic()))
    await _until_idle(ps)
    task.cancel()
    assert rec.played == [] and [d.reason for _, d in rec.drops] == ["quiet"]
    assert not (tmp_path / "hall").exists()


async def test_the_file_speaker_gets_exactly_the_clips(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    ps, _ = players(clip_dir, clip_set, tmp_path, "")
    task = asyncio.create_task(ps["hall"].run())
    ps["hall"].submit(call(7, 5, "A012", at=time.monotonic()))
    await _until_idle(ps)
    task.cancel()
    (wav,) = (tmp_path / "hall").glob("*.wav")
    assert spell(read_wav(wav).to_bytes(), clip_set.clips) == [
        "请", "A", "0", "1", "2", "号", "到", "5号窗口", "办理"
    ]
