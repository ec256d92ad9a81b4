"""A clip set: a folder of WAV files plus ``manifest.json`` saying what each clip says.

    manifest.json  {"format": "hallctl-clips/1", "sample_rate": 22050,
                    "clips": {"请": {"file": "请.wav", "text": "请"}, "0": {"file": "0.wav",
                    "text": "零"}, "chime": {"file": "chime.wav", "text": ""}, ...}}

A hall may replace any WAV with a studio recording (any rate, any PCM width): loading resamples
it to the manifest's rate, so the joins stay seamless. Loaded clips are raw PCM bytes in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hallctl.voice.pcm import Pcm, from_bytes, le_bytes, read_wav, resample, scaled

FORMAT = "hallctl-clips/1"
MANIFEST = "manifest.json"
CHIME = "chime"


class ClipSetError(Exception):
    pass


def clip_file(key: str) -> str:
    """A file name for a clip key (keys are text: ``5号窗口``, ``en:please``)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in key)
    return f"{safe}.wav"


@dataclass
class Manifest:
    sample_rate: int
    clips: dict[str, dict[str, str]] = field(default_factory=dict)  # key → {file, text}

    def to_json(self) -> str:
        body = {"format": FORMAT, "sample_rate": self.sample_rate, "clips": self.clips}
        return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            body: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ClipSetError(f"no clip set in {folder}: run `hallctl voice build`") from None
        except (OSError, ValueError) as e:
            raise ClipSetError(f"{path}: {e}") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise ClipSetError(f"{path}: not a {FORMAT} manifest")
        rate, clips = body.get("sample_rate"), body.get("clips")
        if not isinstance(rate, int) or not isinstance(clips, dict):
            raise ClipSetError(f"{path}: needs sample_rate (int) and clips (object)")
        return cls(rate, clips)


class ClipSet:
    """Clips as raw PCM at one rate, ready to join; ``volume`` scales them once, at load."""

    def __init__(self, rate: int, clips: dict[str, bytes]) -> None:
        self.rate = rate
        self.clips = clips

    @classmethod
    def load(cls, folder: Path, volume: float = 1.0) -> ClipSet:
        manifest = Manifest.load(folder)
        clips: dict[str, bytes] = {}
        for key, entry in manifest.clips.items():
            pcm = read_wav(folder / entry["file"])
            if pcm.rate != manifest.sample_rate:
                pcm = resample(pcm, manifest.sample_rate)
            samples = pcm.samples if volume == 1.0 else scaled(pcm.samples, volume)
            clips[key] = le_bytes(samples)
        return cls(manifest.sample_rate, clips)

    def missing(self, keys: list[str]) -> list[str]:
        return [k for k in keys if k not in self.clips]

    def pcm(self, key: str) -> Pcm:
        return Pcm(from_bytes(self.clips[key]), self.rate)

    def with_volume(self, volume: float) -> ClipSet:
        if volume == 1.0:
            return self
        return ClipSet(
            self.rate,
            {k: le_bytes(scaled(from_bytes(v), volume)) for k, v in self.clips.items()},
        )
