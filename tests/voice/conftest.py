"""A hall with voice, and its clip set built once per test session with the real espeak-ng."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from hallctl.config import HallConfig, parse_config
from hallctl.voice.build import build_clips, hall_clips
from hallctl.voice.clips import ClipSet

VOICE_HALL = """
version: 1
hall: {{id: voice-hall, name: 语音测试大厅, timezone: Asia/Shanghai}}
services:
  - {{code: BDC, name: 不动产登记, prefix: A}}
  - {{code: SB, name: 社保, prefix: B}}
windows:
  - {{number: 1, services: [BDC]}}
  - {{number: 2, services: [BDC]}}
  - {{number: 3, services: [SB]}}
  - {{number: 4, services: [SB]}}
  - {{number: 5, services: [BDC, SB]}}
  - {{number: 6, name: 综合受理窗口, services: [BDC, SB]}}
  - {{number: 7, services: [BDC]}}
  - {{number: 8, services: [BDC]}}
  - {{number: 9, services: [BDC]}}
  - {{number: 10, services: [SB]}}
  - {{number: 11, services: [SB]}}
  - {{number: 12, services: [SB]}}
data_dir: {data_dir}
voice:
  clips: {clips}
{voice}
"""


def voice_hall(data_dir: Path, clips: Path, voice: str = "", extra: str = "") -> HallConfig:
    """The hall file with ``voice`` lines added under ``voice:`` (indent them by two)."""
    text = VOICE_HALL.format(data_dir=data_dir, clips=clips, voice=voice) + extra
    return parse_config(text, "voice-hall.yaml", env={})


def spell(pcm: bytes, clips: dict[str, bytes]) -> list[str]:
    """Which clips an announcement's audio is made of, in order, found by exact match; the
    zero samples between them are skipped. Fails on any audio that is not a clip."""
    by_length = sorted(clips.items(), key=lambda kv: -len(kv[1]))
    out: list[str] = []
    p = 0
    while p < len(pcm):
        for key, data in by_length:
            if pcm.startswith(data, p):
                out.append(key)
                p += len(data)
                break
        else:
            assert pcm[p : p + 2] == b"\0\0", f"audio at sample {p // 2} is no clip"
            p += 2
    return out


def sox_stat(path: Path) -> dict[str, float]:
    """``sox FILE -n stat``: amplitude and length as sox measures them."""
    err = subprocess.run(
        ["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True
    ).stderr
    out: dict[str, float] = {}
    for line in err.splitlines():
        name, _, value = line.partition(":")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            continue
    return out


def soxi(path: Path, flag: str) -> str:
    return subprocess.run(
        ["soxi", flag, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hall's clip set, synthesised by espeak-ng once for the whole session."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (scripts/test.sh installs it)")
    folder = tmp_path_factory.mktemp("clips")
    cfg = voice_hall(folder.parent / "unused", folder)
    assert cfg.voice is not None
    asyncio.run(build_clips(cfg.voice, hall_clips(cfg, cfg.voice), folder))
    return folder


@pytest.fixture(scope="session")
def clip_set(clip_dir: Path) -> ClipSet:
    return ClipSet.load(clip_dir)


@pytest.fixture
def hall_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
