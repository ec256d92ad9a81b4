"""Composition: the right clips in the right order, one rate, no clipping, cached for recalls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hallctl.voice.clips import CHIME, ClipSet
from hallctl.voice.compose import SILENCE, Composer, MissingClips
from tests.voice.conftest import sox_stat, soxi, spell, voice_hall

WORDS = ["请", "A", "0", "1", "2", "号", "到", "5号窗口", "办理"]
MOVED = ["请", "A", "0", "1", "2", "号", "到", "社保", "等候"]
SERVICES = {"BDC": ("不动产登记", "BDC"), "SB": ("社保", "SB")}


def composer(clip_dir: Path, clip_set: ClipSet, voice: str = "", volume: float = 1.0) -> Composer:
    cfg = voice_hall(clip_dir.parent, clip_dir, voice)
    assert cfg.voice is not None
    return Composer(cfg.voice, clip_set.with_volume(volume), SERVICES)


def test_chime_then_the_words_twice_with_a_gap(clip_dir: Path, clip_set: ClipSet) -> None:
    ann = composer(clip_dir, clip_set).compose("A012", 5, "5号窗口")
    assert ann.text == "请A012号到5号窗口办理"
    assert ann.spoken() == [CHIME, *WORDS, *WORDS]
    assert spell(ann.pcm, clip_set.clips) == [CHIME, *WORDS, *WORDS]  # the audio itself


def test_a_transfer_spells_the_line_it_joins(clip_dir: Path, clip_set: ClipSet) -> None:
    c = composer(clip_dir, clip_set)
    call = c.compose("A012", 5, "5号窗口")
    moved = c.compose("A012", 5, "5号窗口", trigger="ticket.transferred", service="SB")
    assert moved is not call  # the cache tells a call from a transfer of the same ticket
    assert moved.text == "请A012号到社保等候"
    assert spell(moved.pcm, clip_set.clips) == [CHIME, *MOVED, *MOVED]  # the audio itself
    assert clip_set.clips["社保"] != clip_set.clips["5号窗口"]  # real, different clips
    clip_samples = sum(len(clip_set.clips[k]) // 2 for k in moved.spoken())
    gaps = sum(s.samples for s in moved.segments if s.key == SILENCE)
    assert len(moved.pcm) // 2 == clip_samples + gaps
    with pytest.raises(MissingClips, match="'GJJ'"):
        c.compose("A012", 5, "5号窗口", trigger="ticket.transferred", service="GJJ")


def test_durations_add_up(clip_dir: Path, clip_set: ClipSet) -> None:
    c = composer(clip_dir, clip_set, "  repeat: 3\n  repeat_gap_ms: 500")
    ann = c.compose("B007", 6, "综合受理窗口")
    clip_samples = sum(len(clip_set.clips[k]) // 2 for k in ann.spoken())
    gaps = [s.samples for s in ann.segments if s.key == SILENCE]
    assert len(ann.pcm) // 2 == clip_samples + sum(gaps)
    assert gaps.count(22050 * 500 // 1000) == 2  # between the three repeats
    for a, b in zip(ann.segments, ann.segments[1:], strict=False):
        assert a.start + a.samples == b.start  # contiguous, no overlap


def test_the_wav_has_one_rate_and_never_clips(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    ann = composer(clip_dir, clip_set).compose("A012", 5, "5号窗口")
    path = tmp_path / "a.wav"
    path.write_bytes(ann.wav())
    assert soxi(path, "-r") == "22050" and soxi(path, "-c") == "1" and soxi(path, "-b") == "16"
    assert abs(float(soxi(path, "-D")) - ann.seconds) < 0.001
    stat = sox_stat(path)
    assert stat["Maximum amplitude"] < 0.99 and stat["Minimum amplitude"] > -0.99
    x = np.frombuffer(ann.pcm, dtype="<i2")
    assert np.abs(x.astype(int)).max() < 32767


def test_zone_volume_scales_the_announcement(clip_dir: Path, clip_set: ClipSet) -> None:
    loud = composer(clip_dir, clip_set).compose("A012", 5, "5号窗口")
    quiet = composer(clip_dir, clip_set, volume=0.25).compose("A012", 5, "5号窗口")
    a = np.abs(np.frombuffer(loud.pcm, dtype="<i2").astype(int)).max()
    b = np.abs(np.frombuffer(quiet.pcm, dtype="<i2").astype(int)).max()
    assert b == pytest.approx(a / 4, abs=2)


def test_no_chime_one_saying_number_style_and_english(clip_dir: Path, clip_set: ClipSet) -> None:
    c = composer(clip_dir, clip_set, "  chime: false\n  repeat: 1")
    assert c.compose("A012", 5, "5号窗口").spoken() == WORDS
    clips = dict(clip_set.clips, **{"十": clip_set.clips["1"], "en:Number": b"\1\0" * 99})
    c = Composer(c.voice.model_copy(update={"numbers": "number"}), ClipSet(22050, clips))
    assert c.compose("A012", 5, "5号窗口").spoken()[1:4] == ["A", "十", "2"]


def test_a_missing_clip_is_named(clip_dir: Path, clip_set: ClipSet) -> None:
    c = composer(clip_dir, clip_set)
    with pytest.raises(MissingClips, match="'42号窗口'"):
        c.compose("A012", 42, "42号窗口")


def test_a_recall_reuses_the_composed_announcement(clip_dir: Path, clip_set: ClipSet) -> None:
    c = composer(clip_dir, clip_set, "  cache: 2")
    first = c.compose("A012", 5, "5号窗口")
    assert c.compose("A012", 5, "5号窗口") is first
    c.compose("A013", 5, "5号窗口")
    c.compose("A014", 5, "5号窗口")  # the cache holds two: A012 is the oldest, gone
    assert c.compose("A012", 5, "5号窗口") is not first
