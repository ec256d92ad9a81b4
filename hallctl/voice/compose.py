"""Joining clips into one announcement, in memory: no TTS and no file on the hot path.

An announcement is ``chime, gap, words, (gap, words) × (repeat - 1)`` as raw PCM. The segment
list says which clip (or silence) lies where, so tests and audits can check the order. Composed
announcements are cached per (template, ticket, window, service) so a recall (重呼) costs a
dictionary lookup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from hallctl.voice.clips import CHIME, ClipSet
from hallctl.voice.config import CALLS, VoiceSection
from hallctl.voice.pcm import silence, wav_bytes
from hallctl.voice.reading import Reading, read

SILENCE = ""  # segment key of a gap
CHIME_GAP_MS = 250
WORD_GAP_MS = 40  # between clips: trimmed clips joined with no gap sound rushed


class MissingClips(KeyError):
    pass


@dataclass(frozen=True, slots=True)
class Segment:
    key: str  # clip key, or SILENCE
    start: int  # sample offset
    samples: int


@dataclass(frozen=True, slots=True)
class Announcement:
    text: str
    pcm: bytes  # s16le mono
    rate: int
    segments: tuple[Segment, ...]

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate

    def wav(self) -> bytes:
        return wav_bytes(self.pcm, self.rate)

    def spoken(self) -> list[str]:
        """The clip keys in order, gaps left out."""
        return [s.key for s in self.segments if s.key != SILENCE]


class Composer:
    """Composes announcements for one zone (its clip set is already at the zone's volume).

    ``services`` says each service's spoken name by code, (Mandarin, English), as
    ``build.service_names`` makes it; it is needed when a template says ``{service}``.
    """

    def __init__(
        self,
        voice: VoiceSection,
        clips: ClipSet,
        services: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.voice = voice
        self.clips = clips
        self.services = dict(services or {})
        self._cache: OrderedDict[tuple[str, str, int, str | None], Announcement] = OrderedDict()
        rate = clips.rate
        self._word_gap = silence(rate, WORD_GAP_MS)
        self._repeat_gap = silence(rate, voice.repeat_gap_ms)
        self._chime_gap = silence(rate, CHIME_GAP_MS)

    def reading(
        self,
        ticket: str,
        window: int,
        window_name: str,
        *,
        trigger: str = CALLS[0],
        service: str | None = None,
    ) -> Reading:
        v = self.voice
        template, template_en = v.templates_for(trigger)
        names = {"window": window_name}
        names_en = {"window": str(window)}
        if service is not None and service in self.services:
            names["service"], names_en["service"] = self.services[service]
        try:
            return read(
                template,
                ticket,
                names,
                style=v.numbers,
                yao=v.one_as_yao,
                template_en=template_en,
                names_en=names_en,
            )
        except KeyError as e:  # a template says {service}: unknown or no service named
            raise MissingClips(f"no spoken {e} ({service!r}) for {template!r}") from None

    def compose(
        self,
        ticket: str,
        window: int,
        window_name: str,
        *,
        trigger: str = CALLS[0],
        service: str | None = None,
    ) -> Announcement:
        """The announcement an event of type ``trigger`` asks for; ``service`` is the ticket's
        service (for a transfer: the line it joins)."""
        template, _ = self.voice.templates_for(trigger)
        key = (template, ticket, window, service)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        ann = self._compose(
            self.reading(ticket, window, window_name, trigger=trigger, service=service)
        )
        self._cache[key] = ann
        if len(self._cache) > self.voice.cache:
            self._cache.popitem(last=False)
        return ann

    def _compose(self, reading: Reading) -> Announcement:
        clips = self.clips.clips
        missing = [k for k in reading.keys if k not in clips]
        if missing:
            raise MissingClips(f"clip set lacks {missing}: run `hallctl voice build`")
        parts: list[tuple[str, bytes]] = []
        if self.voice.chime and CHIME in clips:
            parts += [(CHIME, clips[CHIME]), (SILENCE, self._chime_gap)]
        for i in range(self.voice.repeat):
            if i:
                parts.append((SILENCE, self._repeat_gap))
            for j, k in enumerate(reading.keys):
                if j:
                    parts.append((SILENCE, self._word_gap))
                parts.append((k, clips[k]))
        segments: list[Segment] = []
        at = 0
        for k, data in parts:
            n = len(data) // 2
            segments.append(Segment(k, at, n))
            at += n
        pcm = b"".join(data for _, data in parts)
        return Announcement(reading.text, pcm, self.clips.rate, tuple(segments))
