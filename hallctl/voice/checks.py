"""Checks of the ``voice:`` section: against the rest of the hall file (every load), and of the
clip set on disk against what the enabled templates need (`hallctl check`, `hallctl voice
check`): a clip that is missing is an error before the hall opens, not a silent announcement."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from hallctl.config.problem import Problem

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig
    from hallctl.voice.config import VoiceSection


def check(cfg: HallConfig, voice: VoiceSection) -> list[Problem]:
    out: list[Problem] = []
    numbers = {w.number for w in cfg.windows}
    codes = {s.code for s in cfg.services}
    for i, zone in enumerate(voice.zones):
        if zone.windows == "all":
            continue
        for j, n in enumerate(zone.windows):
            if n not in numbers:
                out.append(Problem(("voice", "zones", i, "windows", j), f"unknown window {n}"))
    for code in sorted(set(voice.service_names) - codes):
        out.append(Problem(("voice", "service_names", code), f"unknown service {code!r}"))
    return out


def clip_set_problems(
    cfg: HallConfig, voice: VoiceSection, *, before_first_start: bool = False
) -> list[str]:
    """What keeps the clip set from saying every enabled template (empty: nothing).

    ``before_first_start``: a hall with no clip set yet is fine as long as the TTS engines it
    will be built with are installed (the daemon builds it at its first start); a clip set
    that exists must be complete.
    """
    from hallctl.voice.build import engine_argv, hall_clips
    from hallctl.voice.clips import MANIFEST, ClipSetError, Manifest

    folder = voice.clips_dir(cfg.data_dir)
    try:
        manifest = Manifest.load(folder)
    except ClipSetError as e:
        if not before_first_start or (folder / MANIFEST).exists():
            return [str(e)]
        engines = [voice.engine]
        if any(en for _, en in voice.enabled_templates()):
            engines.append(voice.engine_en)
        programs = {engine_argv(e, folder, "")[0] for e in engines}
        return [
            f"no clip set in {folder} yet, and the TTS engine {p!r} that would build it is "
            "not installed (docs/voice.md)"
            for p in sorted(programs)
            if shutil.which(p) is None
        ]
    missing = [
        key
        for key in hall_clips(cfg, voice)
        if key not in manifest.clips or not (folder / manifest.clips[key]["file"]).is_file()
    ]
    if not missing:
        return []
    shown = " ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
    return [
        f"{folder} is missing {len(missing)} of the clips the templates need ({shown}): "
        "run `hallctl voice build`"
    ]
