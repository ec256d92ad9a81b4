"""Clip sets: built with espeak-ng, one rate, even level, trimmed; studio WAVs drop in."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path

import numpy as np
import pytest

from hallctl.voice.build import BuildError, build_clips
from hallctl.voice.clips import MANIFEST, ClipSet, ClipSetError
from hallctl.voice.compose import Composer
from hallctl.voice.config import VoiceSection
from hallctl.voice.pcm import Pcm, read_wav, write_wav
from hallctl.voice.reading import needed_keys
from tests.voice.conftest import soxi


def test_every_clip_has_the_set_rate_the_same_peak_and_no_silent_ends(clip_dir: Path) -> None:
    manifest = json.loads((clip_dir / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["sample_rate"] == 22050
    assert manifest["clips"]["0"]["text"] == "零"
    assert manifest["clips"]["综合受理窗口"]["text"] == "综合受理窗口"
    target = 32767 * 10 ** (-3 / 20)  # level_dbfs -3
    for key, entry in manifest["clips"].items():
        path = clip_dir / entry["file"]
        assert soxi(path, "-r") == "22050" and soxi(path, "-c") == "1", key
        x = np.frombuffer(read_wav(path).to_bytes(), dtype="<i2").astype(np.int32)
        peak = np.abs(x).max()
        assert abs(peak - target) <= 2 or key == "chime", (key, peak)
        edge = 22050 * 20 // 1000  # trimmed: speech within 20 ms of either end
        assert np.abs(x[:edge]).max() > 0.02 * peak * 0.5 or key == "chime", key
        assert np.abs(x[-edge:]).max() > 0.02 * peak * 0.5 or key == "chime", key


def test_a_studio_recording_at_another_rate_is_resampled_when_loaded(
    clip_dir: Path, tmp_path: Path
) -> None:
    studio = tmp_path / "studio"
    studio.mkdir()
    for f in clip_dir.iterdir():
        (studio / f.name).write_bytes(f.read_bytes())
    # a 0.5 s stereo 24-bit 44.1 kHz "recording" of 办理: a 440 Hz tone
    t = np.arange(22050) / 44100
    tone = (np.sin(2 * np.pi * 440 * t) * 0.5 * 2**23).astype(np.int32)
    frames = np.repeat(tone, 2)
    raw = b"".join(int(v).to_bytes(4, "little", signed=True)[:3] for v in frames)
    with wave.open(str(studio / "办理.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(3)
        w.setframerate(44100)
        w.writeframes(raw)
    clips = ClipSet.load(studio)
    got = np.frombuffer(clips.clips["办理"], dtype="<i2")
    assert clips.rate == 22050
    assert abs(len(got) - 11025) <= 1
    spectrum = np.abs(np.fft.rfft(got))
    assert abs(np.argmax(spectrum) * 22050 / len(got) - 440) < 5  # still a 440 Hz tone


def test_volume_scales_every_clip(clip_set: ClipSet) -> None:
    half = clip_set.with_volume(0.5)
    a = np.frombuffer(clip_set.clips["请"], dtype="<i2").astype(int)
    b = np.frombuffer(half.clips["请"], dtype="<i2").astype(int)
    assert np.abs(b - a / 2).max() <= 1


def test_a_rebuild_synthesises_only_what_changed(clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    voice = VoiceSection()
    asyncio.run(build_clips(voice, {"0": "零", "请": "请"}, folder))
    before = (folder / "0.wav").stat().st_mtime_ns
    (folder / "chime.wav").write_bytes((folder / "请.wav").read_bytes())  # the hall's own chime
    asyncio.run(build_clips(voice, {"0": "零", "请": "请", "号": "号"}, folder))
    assert (folder / "0.wav").stat().st_mtime_ns == before
    assert (folder / "chime.wav").read_bytes() == (folder / "请.wav").read_bytes()
    assert set(json.loads((folder / MANIFEST).read_text())["clips"]) == {"0", "请", "号", "chime"}


def test_a_missing_engine_or_clip_set_is_a_clear_error(tmp_path: Path) -> None:
    voice = VoiceSection(engine="no-such-tts -o {out} {text}")
    with pytest.raises(BuildError, match="TTS engine not found: no-such-tts"):
        asyncio.run(build_clips(voice, {"0": "零"}, tmp_path / "x"))
    failing = VoiceSection(engine="sh -c 'exit 3' {out} {text}")
    with pytest.raises(BuildError, match="sh failed on '零'"):
        asyncio.run(build_clips(failing, {"0": "零"}, tmp_path / "y"))
    with pytest.raises(ClipSetError, match="run `hallctl voice build`"):
        ClipSet.load(tmp_path / "nothing")


def test_any_engine_that_writes_a_wav_is_a_config_line(tmp_path: Path) -> None:
    # the same way piper or sherpa-onnx are plugged in: a command with {out} and {text}
    engine = "sh -c 'sox -n -r 16000 -b 16 -c 1 \"$0\" synth 0.3 sine 300' {out} {text}"
    voice = VoiceSection(engine=engine)
    asyncio.run(build_clips(voice, {"0": "零"}, tmp_path / "clips"))
    pcm: Pcm = read_wav(tmp_path / "clips" / "0.wav")
    assert pcm.rate == 22050 and 0.25 < pcm.seconds <= 0.31
    write_wav(tmp_path / "again.wav", pcm)
    assert soxi(tmp_path / "again.wav", "-r") == "22050"


def test_english_clips_come_from_the_english_engine(tmp_path: Path) -> None:
    voice = VoiceSection(template_en="Number {ticket}, please go to window {window}.", repeat=1)
    assert voice.template_en is not None
    keys = needed_keys(
        [voice.template], ["A"], {"window": ["5号窗口"]},
        templates_en=[voice.template_en], names_en={"window": ["5"]},
    )
    assert keys["en:please go to window"] == "please go to window" and keys["en:7"] == "7"
    asyncio.run(build_clips(voice, keys, tmp_path / "clips"))
    clips = ClipSet.load(tmp_path / "clips")
    ann = Composer(voice, clips).compose("A012", 5, "5号窗口")
    assert ann.spoken()[-7:] == [
        "en:Number", "en:A", "en:0", "en:1", "en:2", "en:please go to window", "en:5"
    ]
    assert ann.text == "请A012号到5号窗口办理 Number A012, please go to window 5."
    # English words are longer than one Mandarin syllable: a real, different clip
    assert len(clips.clips["en:please go to window"]) > 2 * len(clips.clips["请"])
