"""A zone's player: takes calls, says them one at a time on the zone's output.

Never two announcements at once in a zone (one task plays, the next waits for it to end); a
call that waited longer than ``max_age_s`` is dropped; quiet hours drop instead of speaking.
What happens is told to a ``Listener`` (the voice service journals it); the player itself
never waits on the hall.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol

import structlog

from hallctl.ids import new_id
from hallctl.voice.compose import Announcement, Composer, MissingClips
from hallctl.voice.config import ZoneConfig
from hallctl.voice.outputs import Output, OutputError
from hallctl.voice.queue import Call, Dropped, ZoneQueue

log = structlog.get_logger(__name__)

RECENT = 16  # announcements per zone kept for the HTTP route


@dataclass(slots=True)
class Played:
    id: str
    zone: str
    call: Call
    ann: Announcement
    started_at: float = 0.0  # monotonic: first sample handed to the output
    ended_at: float = 0.0


class Listener(Protocol):
    def announced(self, played: Played) -> None: ...
    def dropped(self, zone: str, dropped: Dropped) -> None: ...
    def speaker_failed(self, zone: str, error: str) -> None: ...
    def speaker_ok(self, zone: str) -> None: ...


class ZonePlayer:
    def __init__(
        self,
        zone: ZoneConfig,
        composer: Composer,
        output: Output,
        listener: Listener,
        *,
        tz: tzinfo | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zone = zone
        self.name = zone.name
        self.composer = composer
        self.output = output
        self.listener = listener
        self.queue = ZoneQueue(zone.max_age_s)
        self.recent: OrderedDict[str, Played] = OrderedDict()
        self.latest: Played | None = None
        self.playing: Played | None = None
        self._tz = tz
        self._clock = clock
        self._wake = asyncio.Event()

    def submit(self, call: Call) -> None:
        """Queue a call (never blocks, never waits for the speaker)."""
        for d in self.queue.push(call):
            self.listener.dropped(self.name, d)
        self._wake.set()

    def withdraw(self, ticket: str) -> None:
        """Another zone has newer word about ``ticket``: drop what waits here about it."""
        for d in self.queue.withdraw(ticket):
            self.listener.dropped(self.name, d)

    async def run(self) -> None:
        while True:
            call, dropped = self.queue.pop(self._clock())
            for d in dropped:
                self.listener.dropped(self.name, d)
            if call is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.zone.quiet_hours and self.zone.quiet(datetime.now(self._tz).time()):
                self.listener.dropped(self.name, Dropped(call, "quiet"))
                continue
            await self._play(call)

    async def _play(self, call: Call) -> None:
        try:
            ann = self.composer.compose(
                call.ticket, call.window, call.window_name,
                trigger=call.trigger, service=call.service,
            )
        except (MissingClips, ValueError) as e:
            log.error("voice.cannot_compose", zone=self.name, ticket=call.ticket, error=str(e))
            self.listener.dropped(self.name, Dropped(call, "no_clips"))
            return
        played = Played(new_id(), self.name, call, ann)

        def started() -> None:
            played.started_at = self._clock()
            self.latest = self.playing = played
            self.recent[played.id] = played
            if len(self.recent) > RECENT:
                self.recent.popitem(last=False)
            self.listener.announced(played)

        label = f"{self.name}-{call.ticket}-w{call.window}-{call.seq}"
        try:
            await self.output.play(ann, label, started)
        except OutputError as e:
            log.warning("voice.speaker_failed", zone=self.name, error=str(e))
            self.listener.speaker_failed(self.name, str(e))
            return
        finally:
            played.ended_at = self._clock()
            self.playing = None
        self.listener.speaker_ok(self.name)
