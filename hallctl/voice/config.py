"""The ``voice:`` section of the hall file: engine, clip set, announcement shape, zones."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hallctl.config.timerange import TimeRange
from hallctl.voice.reading import template_fields

DEFAULT_ENGINE = "espeak-ng -v cmn -s 150 -w {out} {text}"
DEFAULT_TEMPLATE = "请 {ticket} 号 到 {window} 办理"
DEFAULT_TRANSFER = "请 {ticket} 号 到 {service} 等候"
TRANSFERRED = "ticket.transferred"
# events that ask a citizen to come to a window: said with `template`
CALLS = ("ticket.called", "ticket.recalled", "ticket.called_back")
DEFAULT_TRIGGERS = (*CALLS, TRANSFERRED)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutputConfig(_Strict):
    """Where a zone's announcements go."""

    kind: Literal["alsa", "file", "none"] = Field(
        "alsa", description="alsa: `aplay -D <device>`; file: one WAV per announcement; "
        "none: only the HTTP route (speakers on the display PC)"
    )
    device: str = Field("default", description="ALSA device name for kind alsa, e.g. plughw:1,0")
    dir: Path | None = Field(
        None, description="kind file: folder for the WAVs; default <data_dir>/voice/out/<zone>"
    )
    realtime: bool = Field(
        True, description="kind file: hold the zone for the announcement's duration, like a speaker"
    )


def device_id(zone: str) -> str:
    """A speaker zone reports like a device under this id (offline, speaker_failed)."""
    return f"voice-{zone}"


class ZoneConfig(_Strict):
    """A speaker zone (a floor, an area): its own queue, never two announcements at once."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    windows: list[int] | Literal["all"] = Field(
        "all", description="windows announced here; `all` = every window not in another zone"
    )
    output: OutputConfig = OutputConfig()
    volume: float = Field(1.0, ge=0.0, le=1.0, description="scales the clip set's level")
    quiet_hours: list[TimeRange] = Field(
        default_factory=list, description="announcements in these spans are not spoken"
    )
    max_age_s: float = Field(
        20.0, gt=0, description="an announcement waiting longer is dropped, not spoken late"
    )

    def quiet(self, t: time) -> bool:
        return any(r.contains(t) for r in self.quiet_hours)


class VoiceSection(_Strict):
    """Voice calling (语音叫号); docs/voice.md."""

    engine: str = Field(
        DEFAULT_ENGINE,
        description="command that writes one WAV: {out} = file to write, {text} = what to say",
    )
    engine_en: str = Field(
        "espeak-ng -v en -s 150 -w {out} {text}",
        description="the same for the optional English part",
    )
    clips: Path | None = Field(
        None, description="clip set folder (WAVs + manifest.json); default <data_dir>/voice/clips;"
        " relative paths are relative to data_dir"
    )
    sample_rate: int = Field(22050, ge=8000, le=48000, description="every clip is resampled to it")
    level_dbfs: float = Field(-3.0, ge=-30.0, le=0.0, description="clip peak after normalising")
    template: str = Field(
        DEFAULT_TEMPLATE,
        description="said for a call, recall or call-back; spaces separate clips and are not "
        "spoken; fields: {ticket}, {window} (spoken name), {service} (the ticket's service)",
    )
    template_en: str | None = Field(
        None,
        description="optional English after the Mandarin, e.g. "
        "'Number {ticket}, please go to window {window}'",
    )
    template_transfer: str = Field(
        DEFAULT_TRANSFER,
        description="said for ticket.transferred (转移) in the zone of the window it left: "
        "{service} = the spoken name of the line it joins, {window} = the window it left",
    )
    template_transfer_en: str | None = Field(
        None,
        description="optional English for a transfer, e.g. 'Number {ticket}, please wait for "
        "{service}' ({service} = the service's name_en, else its code)",
    )
    service_names: dict[str, str] = Field(
        default_factory=dict,
        description="spoken name of a service by code, e.g. {GJJ: 公积金}; default its name",
    )
    numbers: Literal["digits", "number"] = Field(
        "digits", description="digits: A 零 一 二; number: A 十 二"
    )
    one_as_yao: bool = Field(False, description="read digit 1 as 幺 (digits style)")
    chime: bool = Field(True, description="a two-tone chime before the words")
    repeat: int = Field(2, ge=1, le=5, description="how many times the words are said")
    repeat_gap_ms: int = Field(700, ge=0, le=5000)
    triggers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TRIGGERS),
        description="journal event types that are announced",
    )
    cache: int = Field(256, ge=1, description="composed announcements kept for recalls")
    zones: list[ZoneConfig] = Field(default_factory=lambda: [ZoneConfig(name="hall")])

    @model_validator(mode="after")
    def _check(self) -> VoiceSection:
        names = [z.name for z in self.zones]
        if len(set(names)) != len(names):
            raise ValueError("a zone name is used twice")
        if not self.zones:
            raise ValueError("at least one zone is needed")
        seen: dict[int, str] = {}
        for z in self.zones:
            if z.windows == "all":
                continue
            for w in z.windows:
                if w in seen:
                    raise ValueError(f"window {w} is in zones {seen[w]} and {z.name}")
                seen[w] = z.name
        for fmt in (self.engine, self.engine_en):
            if "{out}" not in fmt or "{text}" not in fmt:
                raise ValueError(f"engine command needs {{out}} and {{text}}: {fmt!r}")
        required = {
            "template": ("ticket", "window"),
            "template_en": ("ticket",),
            "template_transfer": ("ticket", "service"),
            "template_transfer_en": ("ticket",),
        }
        for name, needs in required.items():
            text = getattr(self, name)
            if text is None:
                continue
            try:
                fields = template_fields(text)
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
            for field in needs:
                if field not in fields:
                    raise ValueError(f"{name} needs {{{field}}}")
        bad = [t for t in self.triggers if t not in TRIGGERABLE]
        if bad:
            raise ValueError(f"not announceable: {bad}; choose from {sorted(TRIGGERABLE)}")
        return self

    def templates_for(self, trigger: str) -> tuple[str, str | None]:
        """The Mandarin and the optional English template said for an event type."""
        if trigger == TRANSFERRED:
            return self.template_transfer, self.template_transfer_en
        return self.template, self.template_en

    def enabled_templates(self) -> list[tuple[str, str | None]]:
        """The templates the triggers can use: only their clips are built."""
        return list(dict.fromkeys(self.templates_for(t) for t in self.triggers))

    def zone_of(self, window: int) -> ZoneConfig:
        fallback = None
        for z in self.zones:
            if z.windows == "all":
                fallback = fallback or z
            elif window in z.windows:
                return z
        return fallback or self.zones[0]

    def clips_dir(self, data_dir: Path) -> Path:
        if self.clips is None:
            return data_dir / "voice" / "clips"
        return self.clips if self.clips.is_absolute() else data_dir / self.clips


# events that name a ticket and a window the citizen is at or is asked to
TRIGGERABLE = frozenset(DEFAULT_TRIGGERS)
