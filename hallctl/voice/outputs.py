"""Where a zone's announcements are played: the sound card, a folder of WAVs, or nowhere.

The sound card is driven by ``aplay -D <device>`` (alsa-utils) rather than a Python audio
library: PyAudio and sounddevice need PortAudio and a C build, simpleaudio is unmaintained, and
all of them run the driver inside the daemon, where a wedged sound driver can hang a thread we
cannot kill. A child process can be killed after a time-out, reports ALSA errors on stderr,
and takes the same device names as ``aplay -L``. One ``aplay`` per announcement also reopens
the device each time, so a re-plugged USB speaker comes back by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hallctl.voice.compose import Announcement

# the player is told when the first sample is on its way (bench: call → first sample)
Started = Callable[[], None]

class OutputError(Exception):
    """The speaker did not take the announcement (ALSA error, disk full)."""

class Output(Protocol):
    async def play(self, ann: Announcement, label: str, started: Started) -> None: ...

async def _hold(seconds: float) -> None:
    await asyncio.sleep(seconds)

class AlsaOutput:
    def __init__(self, device: str, *, aplay: str = "aplay", slack_s: float = 5.0) -> None:
        self.device = device
        self.aplay = aplay
        self.slack_s = slack_s

    def argv(self, rate: int) -> list[str]:
        return [
            self.aplay, "-D", self.device, "-t", "raw", "-f", "S16_LE", "-c", "1",
            "-r", str(rate), "-",
        ]

    async def play(self, ann: Announcement, label: str, started: Started) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv(ann.rate),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "LC_ALL": "C"},  # its "Playing" line, untranslated
            )
        except OSError as e:
            raise OutputError(f"cannot run {self.aplay}: {e}") from None
        assert proc.stdin is not None and proc.stderr is not None
        try:
            async with asyncio.timeout(ann.seconds + self.slack_s):
                # aplay says "Playing raw data ..." once the device is open and set up, before
                # it reads a sample: only then is the announcement really handed to the speaker
                first = await proc.stderr.readline()
                if not first.startswith(b"Playing"):
                    err = first + await proc.stderr.read()
                    await proc.wait()
                    raise OutputError(f"aplay -D {self.device}: {_last_line(err, proc)}")
                started()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    proc.stdin.write(ann.pcm)
                    await proc.stdin.drain()
                    proc.stdin.close()
                err = await proc.stderr.read()
                code = await proc.wait()
        except TimeoutError:
            raise OutputError(f"aplay on {self.device} hung; killed") from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if code != 0:
            raise OutputError(f"aplay -D {self.device}: {_last_line(err, proc)}")


def _last_line(err: bytes, proc: asyncio.subprocess.Process) -> str:
    lines = err.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit {proc.returncode}"


class FileOutput:
    """One WAV per announcement, named ``<time>-<label>.wav``: for tests and for audits."""

    def __init__(self, folder: Path, *, realtime: bool = True, time_scale: float = 1.0) -> None:
        self.folder = folder
        self.realtime = realtime
        self.time_scale = time_scale  # tests and benches run a speaker faster than life

    async def play(self, ann: Announcement, label: str, started: Started) -> None:
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S.%f")
        path = self.folder / f"{stamp}-{label}.wav"
        try:
            await asyncio.to_thread(_write_atomic, path, ann.wav())
        except OSError as e:
            raise OutputError(f"{path}: {e.strerror or e}") from None
        started()
        if self.realtime:
            await _hold(ann.seconds / self.time_scale)

def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a reader never sees half a file

class SilentOutput:
    """No local speaker: the display PC plays the audio it fetches over HTTP. The zone is still
    held for the announcement's length, so the display gets them one after another."""

    async def play(self, ann: Announcement, label: str, started: Started) -> None:
        started()
        await _hold(ann.seconds)
