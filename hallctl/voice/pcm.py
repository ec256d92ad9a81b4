"""Mono 16-bit PCM in memory: read and write WAV, resample, trim silence, set the level.

Plain stdlib (``wave``, ``array``): these run once per clip when a clip set is built or loaded,
never per announcement, so numpy's speed is not needed and its 20 MB is not paid on the hall PC.
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

FULL_SCALE = 32767


@dataclass(frozen=True, slots=True)
class Pcm:
    """Signed 16-bit little-endian mono samples at ``rate`` Hz."""

    samples: array  # type: ignore[type-arg]  # array('h')
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def to_bytes(self) -> bytes:
        return le_bytes(self.samples)


def le_bytes(samples: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder == "big":  # WAV is little-endian
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def from_bytes(data: bytes) -> array:  # type: ignore[type-arg]
    samples = array("h")
    samples.frombytes(data)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


class WavError(ValueError):
    pass


def read_wav(path: Path) -> Pcm:
    """Any PCM WAV (8/16/24/32-bit, mono or more channels) as 16-bit mono."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise WavError(f"{path}: not a PCM WAV file ({e})") from None
    if width == 2:
        samples = from_bytes(raw)
    elif width == 1:  # unsigned 8-bit
        samples = array("h", ((b - 128) << 8 for b in raw))
    elif width in (3, 4):  # keep the top two bytes of each little-endian sample
        samples = from_bytes(
            b"".join(raw[i + width - 2 : i + width] for i in range(0, len(raw), width))
        )
    else:
        raise WavError(f"{path}: {width * 8}-bit samples are not supported")
    if channels > 1:
        samples = array(
            "h",
            (
                sum(samples[i : i + channels]) // channels
                for i in range(0, len(samples), channels)
            ),
        )
    return Pcm(samples, rate)


def wav_bytes(pcm_bytes: bytes, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm_bytes)
    return buf.getvalue()


def write_wav(path: Path, pcm: Pcm) -> None:
    path.write_bytes(wav_bytes(pcm.to_bytes(), pcm.rate))


def resample(pcm: Pcm, rate: int) -> Pcm:
    """Linear interpolation: enough for speech going to a hall loudspeaker."""
    if pcm.rate == rate or not pcm.samples:
        return Pcm(pcm.samples, rate)
    src = pcm.samples
    n = max(1, round(len(src) * rate / pcm.rate))
    step = pcm.rate / rate
    last = len(src) - 1
    out = array("h", bytes(2 * n))
    for i in range(n):
        x = i * step
        j = int(x)
        if j >= last:
            out[i] = src[last]
        else:
            f = x - j
            out[i] = int(src[j] + (src[j + 1] - src[j]) * f)
    return Pcm(out, rate)


def trim(pcm: Pcm, threshold: float = 0.02, pad_ms: int = 15) -> Pcm:
    """Cut leading and trailing silence (below ``threshold`` of the clip's peak)."""
    s = pcm.samples
    peak = max((abs(x) for x in s), default=0)
    if peak == 0:
        return Pcm(array("h"), pcm.rate)
    limit = peak * threshold
    start = next(i for i, x in enumerate(s) if abs(x) > limit)
    end = len(s) - next(i for i, x in enumerate(reversed(s)) if abs(x) > limit)
    pad = pcm.rate * pad_ms // 1000
    return Pcm(s[max(0, start - pad) : min(len(s), end + pad)], pcm.rate)


def scaled(samples: array, gain: float) -> array:  # type: ignore[type-arg]
    """Multiply by ``gain``, clamped to 16 bits."""
    if gain == 1.0:
        return array("h", samples)
    return array("h", (max(-FULL_SCALE, min(FULL_SCALE, round(x * gain))) for x in samples))


def normalise(pcm: Pcm, level_dbfs: float) -> Pcm:
    """Peak-normalise to ``level_dbfs`` (e.g. -3 dBFS), so joined clips sound even."""
    peak = max((abs(x) for x in pcm.samples), default=0)
    if peak == 0:
        return pcm
    target = FULL_SCALE * 10 ** (level_dbfs / 20)
    return Pcm(scaled(pcm.samples, target / peak), pcm.rate)


def silence(rate: int, ms: int) -> bytes:
    return bytes(2 * (rate * ms // 1000))


def chime(rate: int, level_dbfs: float) -> Pcm:
    """A two-tone ding-dong (G5 then E5) with a soft decay: made here, no engine needed."""
    amp = FULL_SCALE * 10 ** (level_dbfs / 20)
    out = array("h")
    for freq, ms in ((784.0, 380), (659.3, 620)):
        n = rate * ms // 1000
        attack = rate // 200
        for i in range(n):
            env = min(1.0, i / attack) * math.exp(-3.5 * i / n)
            out.append(int(amp * env * math.sin(2 * math.pi * freq * i / rate)))
    return Pcm(out, rate)
