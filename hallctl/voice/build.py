"""``hallctl voice build``: make a clip set with an offline TTS engine behind a command template.

The engine is any command that writes one WAV file: ``{out}`` is the file, ``{text}`` what to
say (one argument, never through a shell). espeak-ng's Mandarin voice is the default because
Debian ships it; piper or sherpa-onnx with a local model are one config line (docs/voice.md).
Each clip is then resampled to the set's rate, silence-trimmed and peak-normalised.
"""

from __future__ import annotations

import asyncio
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path

import structlog

from hallctl.config.models import HallConfig
from hallctl.voice.clips import CHIME, MANIFEST, ClipSetError, Manifest, clip_file
from hallctl.voice.config import VoiceSection
from hallctl.voice.pcm import Pcm, chime, normalise, read_wav, resample, trim, write_wav
from hallctl.voice.reading import EN, needed_keys

log = structlog.get_logger(__name__)


class BuildError(Exception):
    pass


def engine_argv(template: str, out: Path, text: str) -> list[str]:
    return [
        arg.replace("{out}", str(out)).replace("{text}", text) for arg in shlex.split(template)
    ]


def service_names(config: HallConfig, voice: VoiceSection) -> dict[str, tuple[str, str]]:
    """How each service is said, by code: (Mandarin, English). Mandarin: ``voice.service_names``
    or the service's name; English: its ``name_en`` or its code."""
    return {
        s.code: (voice.service_names.get(s.code, s.name), s.name_en or s.code)
        for s in config.services
    }


def hall_clips(config: HallConfig, voice: VoiceSection) -> dict[str, str]:
    """Every clip the enabled templates can use in this hall: key → text."""
    services = service_names(config, voice).values()
    enabled = voice.enabled_templates()
    return needed_keys(
        [zh for zh, _ in enabled],
        [s.prefix for s in config.services],
        {"window": [w.display_name for w in config.windows], "service": [s[0] for s in services]},
        style=voice.numbers,
        yao=voice.one_as_yao,
        templates_en=[en for _, en in enabled if en],
        names_en={
            "window": [str(w.number) for w in config.windows],
            "service": [s[1] for s in services],
        },
    )


def finish_clip(pcm: Pcm, rate: int, level_dbfs: float) -> Pcm:
    return normalise(trim(resample(pcm, rate)), level_dbfs)


async def _synthesise(template: str, text: str, out: Path, sem: asyncio.Semaphore) -> None:
    argv = engine_argv(template, out, text)
    async with sem:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
        except FileNotFoundError:
            raise BuildError(f"TTS engine not found: {argv[0]} (see docs/voice.md)") from None
        _, err = await proc.communicate()
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip()
        raise BuildError(f"{argv[0]} failed on {text!r}: {detail}")


def _plan(
    voice: VoiceSection, clips: Mapping[str, str], folder: Path, reuse: bool
) -> tuple[Manifest, dict[str, str]]:
    """The new manifest, and which clips need the engine (new, changed or missing files)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        old: Manifest | None = Manifest.load(folder)
    except ClipSetError:
        old = None
    manifest = Manifest(voice.sample_rate)
    todo: dict[str, str] = {}
    for key, text in clips.items():
        entry = {"file": clip_file(key), "text": text}
        manifest.clips[key] = entry
        same = old is not None and old.sample_rate == voice.sample_rate
        same = same and old is not None and old.clips.get(key) == entry
        if not (reuse and same and (folder / entry["file"]).exists()):
            todo[key] = text
    return manifest, todo


def _finish(
    voice: VoiceSection, manifest: Manifest, raw: Mapping[str, Path], folder: Path, reuse: bool
) -> None:
    rate = voice.sample_rate
    for key, path in raw.items():
        if not path.exists():
            raise BuildError(f"the engine wrote no WAV for {key!r} (does it honour {{out}}?)")
        clip = finish_clip(read_wav(path), rate, voice.level_dbfs)
        write_wav(folder / manifest.clips[key]["file"], clip)
    if not reuse or not (folder / clip_file(CHIME)).exists():  # a hall's own chime stays
        write_wav(folder / clip_file(CHIME), chime(rate, voice.level_dbfs - 4))
    manifest.clips[CHIME] = {"file": clip_file(CHIME), "text": ""}
    (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")


async def build_clips(
    voice: VoiceSection,
    clips: Mapping[str, str],
    folder: Path,
    *,
    jobs: int = 4,
    reuse: bool = True,
) -> Manifest:
    """Synthesise ``clips`` (key → text) into ``folder``; with ``reuse``, keep clips that
    already say the same text at the same rate (a rebuild after adding a window is quick)."""
    manifest, todo = await asyncio.to_thread(_plan, voice, clips, folder, reuse)
    sem = asyncio.Semaphore(jobs)
    with tempfile.TemporaryDirectory(prefix="hallctl-tts-") as tmp:
        raw = {key: Path(tmp) / f"{i}.wav" for i, key in enumerate(todo)}
        try:
            async with asyncio.TaskGroup() as tg:
                for key, text in todo.items():
                    engine = voice.engine_en if key.startswith(EN) else voice.engine
                    tg.create_task(_synthesise(engine, text, raw[key], sem))
        except* BuildError as group:
            raise group.exceptions[0] from None
        # resampling, trimming and levels are pure Python: off the event loop
        await asyncio.to_thread(_finish, voice, manifest, raw, folder, reuse)
    log.info("voice.clips_built", folder=str(folder), clips=len(clips), synthesised=len(todo))
    return manifest
