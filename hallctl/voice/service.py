"""The voice component: journaled calls in, announcements out on each zone's speaker.

It reads the engine's durable record stream (never the request path), so voice can not block or
delay calling. What it did goes back into the journal through ``engine.execute``, the one door:
``voice_announced`` → ``voice.announced`` (zone, text, audio URL) for the display pages and
audits; a failing speaker → ``device.offline`` and a ``speaker_failed`` device alarm, like any
other device. No journal cursor: after a restart, old calls are not spoken late anyway.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from hallctl.components import Needs
from hallctl.config.models import HallConfig
from hallctl.engine import HallEngine
from hallctl.journal import Record
from hallctl.voice.build import BuildError, build_clips, hall_clips, service_names
from hallctl.voice.clips import ClipSet, ClipSetError
from hallctl.voice.compose import Composer
from hallctl.voice.config import TRANSFERRED, VoiceSection, ZoneConfig, device_id
from hallctl.voice.outputs import AlsaOutput, FileOutput, Output, SilentOutput
from hallctl.voice.queue import Call, Dropped
from hallctl.voice.zones import Played, ZonePlayer

log = structlog.get_logger(__name__)

ROUTE_PREFIX = "/voice"


def audio_url(zone: str, announcement: str) -> str:
    return f"{ROUTE_PREFIX}/{zone}/{announcement}.wav"


def output_for(zone: ZoneConfig, data_dir: Path) -> Output:
    out = zone.output
    if out.kind == "alsa":
        return AlsaOutput(out.device)
    if out.kind == "file":
        folder = out.dir or data_dir / "voice" / "out" / zone.name
        folder = folder if folder.is_absolute() else data_dir / folder
        return FileOutput(folder, realtime=out.realtime)
    return SilentOutput()


async def prepare_clips(config: HallConfig, voice: VoiceSection) -> ClipSet:
    """The hall's clip set, synthesising only clips that are missing or changed."""
    folder = voice.clips_dir(config.data_dir)
    await build_clips(voice, hall_clips(config, voice), folder)
    return await asyncio.to_thread(ClipSet.load, folder)


def check_coverage(config: HallConfig, voice: VoiceSection, clips: ClipSet) -> None:
    """A clip set that cannot say every enabled template is an error now, not silence later."""
    missing = clips.missing(list(hall_clips(config, voice)))
    if missing:
        shown = " ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ClipSetError(
            f"missing {len(missing)} of the clips the templates need ({shown}): "
            "run `hallctl voice build`"
        )


class VoiceService:
    name = "voice"

    def __init__(
        self,
        config: HallConfig,
        engine: HallEngine,
        *,
        outputs: Mapping[str, Output] | None = None,
        clips: ClipSet | None = None,
    ) -> None:
        assert config.voice is not None
        self.config = config
        self.voice: VoiceSection = config.voice
        self.engine = engine
        self._outputs = dict(outputs or {})
        self._clips = clips
        self.players: dict[str, ZonePlayer] = {}
        self._windows = {w.number: w.display_name for w in config.windows}
        self._services = service_names(config, self.voice)
        self._health: dict[str, bool] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.ready = asyncio.Event()

    # ---- what the daemon mounts ---------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(ROUTE_PREFIX + "/{zone}/latest.wav", self._latest),
            web.get(ROUTE_PREFIX + "/{zone}/{id}.wav", self._by_id),
        ]

    def needs(self) -> Needs:
        # no cursor: after a restart, calls made while down are not worth saying late
        return Needs(routes=self.routes())

    # ---- running ------------------------------------------------------------------------

    async def run(self) -> None:
        with self.engine.subscribe() as records:  # registered first: nothing slips by
            try:
                clips = self._clips or await prepare_clips(self.config, self.voice)
                check_coverage(self.config, self.voice, clips)
            except (BuildError, ClipSetError, OSError) as e:
                # no clips, no voice: every zone's speaker is reported down; we are restarted
                for zone in self.voice.zones:
                    self.speaker_failed(zone.name, f"clip set: {e}")
                raise
            async with asyncio.TaskGroup() as tg:
                for zone in self.voice.zones:
                    # scaling every sample is pure Python: off the event loop
                    zone_clips = await asyncio.to_thread(clips.with_volume, zone.volume)
                    composer = Composer(self.voice, zone_clips, self._services)
                    output = self._outputs.get(zone.name) or output_for(
                        zone, self.config.data_dir
                    )
                    player = ZonePlayer(zone, composer, output, self, tz=self.config.hall.tz)
                    self.players[zone.name] = player
                    tg.create_task(player.run(), name=f"voice-{zone.name}")
                self.ready.set()
                log.info("voice.ready", zones=list(self.players), clips=len(clips.clips))
                async for record in records:
                    self.on_record(record)

    def on_record(self, record: Record) -> None:
        """A call is said in its window's zone. A transfer is said in the zone of the window
        the ticket left, where the citizen stands: "请A012号到社保等候"."""
        if record.type not in self.voice.triggers:
            return
        data = json.loads(record.data)
        window = data.get("window")
        ticket = data.get("ticket")
        if not isinstance(window, int) or not isinstance(ticket, str):
            return
        service = data.get("to_service" if record.type == TRANSFERRED else "service")
        zone = self.voice.zone_of(window)
        name = data.get("window_name") or self._windows.get(window, f"{window}号窗口")
        call = Call(
            record.seq, record.type, ticket, window, name, time.monotonic(),
            service if isinstance(service, str) else None,
        )
        for other, player in self.players.items():
            if other != zone.name:
                player.withdraw(ticket)  # older word about this ticket elsewhere
        self.players[zone.name].submit(call)

    # ---- Listener: what the players tell us; journaled without holding them up ----------

    def announced(self, played: Played) -> None:
        call = played.call
        self._request(
            {
                "action": "voice_announced",
                "request_id": f"voice:{played.zone}:{call.seq}",
                "source": "voice",
                "zone": played.zone,
                "ticket": call.ticket,
                "window": call.window,
                "text": played.ann.text,
                "audio_url": audio_url(played.zone, played.id),
                "duration_s": round(played.ann.seconds, 3),
                "trigger": call.trigger,
                "trigger_seq": call.seq,
            }
        )

    def dropped(self, zone: str, dropped: Dropped) -> None:
        c, why = dropped.call, dropped.reason
        log.info("voice.dropped", zone=zone, ticket=c.ticket, window=c.window, reason=why)

    def speaker_failed(self, zone: str, error: str) -> None:
        if self._health.get(zone) is False:
            return
        self._health[zone] = False
        dev = device_id(zone)
        detail = error[:200]
        self._request({"action": "device_status", "device": dev, "online": False, "detail": detail})
        self._request(
            {"action": "device_alarm", "device": dev, "alarm": "speaker_failed", "active": True,
             "detail": detail}
        )

    def speaker_ok(self, zone: str) -> None:
        before = self._health.get(zone)
        if before is True:
            return
        self._health[zone] = True
        dev = device_id(zone)
        self._request({"action": "device_status", "device": dev, "online": True})
        if before is False:
            self._request(
                {"action": "device_alarm", "device": dev, "alarm": "speaker_failed",
                 "active": False}
            )

    def _request(self, request: dict[str, Any]) -> None:
        request.setdefault("source", "voice")
        task = asyncio.get_running_loop().create_task(self._execute(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, request: dict[str, Any]) -> None:
        response = await self.engine.execute(request)
        if not response.get("ok"):
            log.warning("voice.request_failed", action=request["action"], error=response["error"])

    # ---- HTTP: the audio for display pages whose PC has the speakers ---------------------

    async def _latest(self, request: web.Request) -> web.StreamResponse:
        player = self._player(request)
        if player.latest is None:
            raise web.HTTPNotFound(text="nothing announced yet\n")
        return _wav(player.latest)

    async def _by_id(self, request: web.Request) -> web.StreamResponse:
        played = self._player(request).recent.get(request.match_info["id"])
        if played is None:
            raise web.HTTPNotFound(text="no such announcement (only the latest few are kept)\n")
        return _wav(played)

    def _player(self, request: web.Request) -> ZonePlayer:
        player = self.players.get(request.match_info["zone"])
        if player is None:
            raise web.HTTPNotFound(text="no such zone\n")
        return player


def _wav(played: Played) -> web.Response:
    return web.Response(
        body=played.ann.wav(),
        content_type="audio/wav",
        headers={"Cache-Control": "no-store", "X-Announcement": played.id},
    )

