"""``hallctl voice build|say``: make the clip set; say one announcement (speaker check)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at import: every `hallctl` command registers this one (CLI start-up)
    from hallctl.config.models import HallConfig
    from hallctl.voice.config import VoiceSection


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("voice", help="voice calling: build the clip set, say an announcement")
    verbs = p.add_subparsers(dest="voice_command", required=True, metavar="VERB",
                             help="build the clip set, or say one announcement")

    sp = verbs.add_parser("build", help="synthesise the hall's clips with the TTS engine")
    sp.add_argument("-c", "--config", default=None, help="hall file")
    sp.add_argument("--out", type=Path, help="clip set folder (default: from the hall file)")
    sp.add_argument("--force", action="store_true", help="synthesise every clip again")

    sp = verbs.add_parser("say", help="compose one announcement and play it (or write a WAV)")
    sp.add_argument("-c", "--config", default=None, help="hall file")
    sp.add_argument("ticket", help="e.g. A012")
    sp.add_argument("window", type=int, help="window number, e.g. 5")
    sp.add_argument("--wav", type=Path, help="write the WAV here instead of playing it")
    sp.add_argument("--to", metavar="SERVICE",
                    help="say the transfer of the ticket at WINDOW to this service's line")

    sp = verbs.add_parser("check", help="does the clip set have every clip the templates need")
    sp.add_argument("-c", "--config", default=None, help="hall file")
    p.set_defaults(handler=main)


def _load(path: str | None) -> tuple[HallConfig, VoiceSection]:
    from hallctl.cli import default_config
    from hallctl.config import load_config
    from hallctl.voice.config import VoiceSection

    cfg = load_config(path or default_config())
    return cfg, cfg.voice or VoiceSection()


def main(args: argparse.Namespace) -> int:
    from hallctl.config import ConfigError
    from hallctl.logging import configure_logging
    from hallctl.voice.build import BuildError
    from hallctl.voice.clips import ClipSetError
    from hallctl.voice.compose import MissingClips
    from hallctl.voice.outputs import OutputError

    configure_logging("warning", json=False)  # the command prints its own summary
    try:
        cfg, voice = _load(args.config)
        if args.voice_command == "build":
            return asyncio.run(_build(cfg, voice, args.out, args.force))
        if args.voice_command == "check":
            return _check(cfg, voice)
        return asyncio.run(_say(cfg, voice, args.ticket, args.window, args.wav, args.to))
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    except (BuildError, ClipSetError, MissingClips, OutputError, ValueError) as e:
        print(f"hallctl voice: {e}", file=sys.stderr)
        return 1


async def _build(cfg: HallConfig, voice: VoiceSection, out: Path | None, force: bool) -> int:
    from hallctl.voice.build import build_clips, hall_clips

    folder = out or voice.clips_dir(cfg.data_dir)
    clips = hall_clips(cfg, voice)
    await build_clips(voice, clips, folder, reuse=not force)
    print(f"{folder}: {len(clips)} clips + chime at {voice.sample_rate} Hz")
    return 0


def _check(cfg: HallConfig, voice: VoiceSection) -> int:
    from hallctl.voice.checks import clip_set_problems

    problems = clip_set_problems(cfg, voice)
    for p in problems:
        print(f"voice: {p}", file=sys.stderr)
    if not problems:
        print(f"{voice.clips_dir(cfg.data_dir)}: every clip the templates need is there")
    return 1 if problems else 0


async def _say(
    cfg: HallConfig,
    voice: VoiceSection,
    ticket: str,
    window: int,
    wav: Path | None,
    to: str | None,
) -> int:
    from hallctl.voice.build import service_names
    from hallctl.voice.clips import ClipSet
    from hallctl.voice.compose import Composer
    from hallctl.voice.config import CALLS, TRANSFERRED
    from hallctl.voice.service import output_for

    try:
        name = cfg.window(window).display_name
    except KeyError:
        raise ValueError(f"no window {window} in the hall file") from None
    services = service_names(cfg, voice)
    if to is not None and to not in services:
        raise ValueError(f"no service {to!r} in the hall file")
    zone = voice.zone_of(window)
    clips = await asyncio.to_thread(ClipSet.load, voice.clips_dir(cfg.data_dir), zone.volume)
    trigger = TRANSFERRED if to is not None else CALLS[0]
    own = next((s.code for s in cfg.services if ticket.rstrip("0123456789") == s.prefix), None)
    ann = Composer(voice, clips, services).compose(
        ticket, window, name, trigger=trigger, service=to or own
    )
    print(f"{ann.text}  ({ann.seconds:.2f} s, zone {zone.name})")
    print(" ".join(ann.spoken()))
    if wav is not None:
        await asyncio.to_thread(wav.write_bytes, ann.wav())
        print(f"wrote {wav}")
    else:
        await output_for(zone, cfg.data_dir).play(ann, f"say-{ticket}-w{window}", lambda: None)
    return 0
