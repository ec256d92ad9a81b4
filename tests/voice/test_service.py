"""The voice component on a real engine: calls in, ``voice.announced`` and audio out;
a failing speaker is a device that goes offline, and calling never waits for it."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hallctl.config import HallConfig
from hallctl.engine import HallEngine
from hallctl.hall.events import validate_event
from hallctl.journal import Record
from hallctl.transports.http import HttpServer
from hallctl.voice.build import BuildError
from hallctl.voice.clips import ClipSet, ClipSetError
from hallctl.voice.outputs import AlsaOutput, FileOutput, Output
from hallctl.voice.pcm import from_bytes
from hallctl.voice.service import VoiceService
from tests.test_engine import Running
from tests.voice.conftest import VOICE_HALL, soxi, spell, voice_hall

QUICK = "  chime: false\n  repeat: 1\n"


@asynccontextmanager
async def voiced(
    config: HallConfig, clips: ClipSet, tmp: Path, outputs: dict[str, Output]
) -> AsyncIterator[tuple[HallEngine, VoiceService]]:
    async with Running(config, tmp / "journal.db") as engine:
        service = VoiceService(config, engine, outputs=outputs, clips=clips)
        task = asyncio.create_task(service.run())
        await asyncio.wait_for(service.ready.wait(), 5)
        try:
            yield engine, service
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def next_event(records: AsyncIterator[Record], type_: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        async for r in records:
            if r.type == type_:
                data: dict[str, Any] = json.loads(r.data)
                validate_event(r.type, data)  # the published schema holds
                return data
    raise AssertionError("stream ended")


async def open_and_call(engine: HallEngine, window: int) -> dict[str, Any]:
    await engine.execute({"action": "open_window", "window": window})
    await engine.execute({"action": "take_ticket", "service": "BDC"})
    return await engine.execute({"action": "call_next", "window": window})


async def test_a_call_is_announced_journaled_and_served_over_http(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    config = voice_hall(tmp_path, clip_dir, QUICK)
    speaker = FileOutput(tmp_path / "out", time_scale=50)
    async with voiced(config, clip_set, tmp_path, {"hall": speaker}) as (engine, service):
        server = HttpServer("127.0.0.1", 0)
        server.add_routes(service.routes())
        with engine.subscribe() as records:
            called = await open_and_call(engine, 5)
            assert called["ok"] and called["result"]["ticket"] == "A001"
            event = await next_event(records, "voice.announced")
        assert event["zone"] == "hall" and event["window"] == 5 and event["ticket"] == "A001"
        assert event["text"] == "请A001号到5号窗口办理"
        assert event["trigger"] == "ticket.called" and event["duration_s"] > 1
        async with server, aiohttp.ClientSession() as http:
            async with http.get(server.base_url + event["audio_url"]) as r:
                assert r.status == 200 and r.content_type == "audio/wav"
                by_id = await r.read()
            async with http.get(server.base_url + "/voice/hall/latest.wav") as r:
                assert await r.read() == by_id
            async with http.get(server.base_url + "/voice/nowhere/latest.wav") as r:
                assert r.status == 404
        pcm = from_bytes(by_id[44:]).tobytes()
        words = ["请", "A", "0", "0", "1", "号", "到", "5号窗口", "办理"]
        assert spell(pcm, clip_set.clips) == words
        # the recall is announced too, and the journal says which event asked for it
        with engine.subscribe() as records:
            await engine.execute({"action": "recall", "window": 5})
            recalled = await next_event(records, "voice.announced")
        assert recalled["trigger"] == "ticket.recalled"
        assert recalled["trigger_seq"] > event["trigger_seq"]


async def test_a_dead_speaker_is_an_offline_device_and_calling_goes_on(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    config = voice_hall(tmp_path, clip_dir, QUICK)
    speaker = AlsaOutput("no_such_card")  # real aplay, ALSA refuses the device
    async with voiced(config, clip_set, tmp_path, {"hall": speaker}) as (engine, _):
        with engine.subscribe() as records:
            started = time.perf_counter()
            assert (await open_and_call(engine, 1))["ok"]
            assert time.perf_counter() - started < 2  # not held up by the speaker
            offline = await next_event(records, "device.offline")
            alarm = await next_event(records, "device.alarm")
        assert offline["device"] == "voice-hall" and "no_such_card" in offline["detail"]
        assert alarm["alarm"] == "speaker_failed" and alarm["active"] is True
        # the next calls still work; the speaker stays offline, with no new alarms
        with engine.subscribe() as records:
            for _ in range(3):
                await engine.execute({"action": "take_ticket", "service": "BDC"})
                assert (await engine.execute({"action": "call_next", "window": 1}))["ok"]
            await asyncio.sleep(0.3)
            speaker.device = "null"  # the speaker answers again (ALSA's null device)
            await engine.execute({"action": "take_ticket", "service": "BDC"})
            await engine.execute({"action": "call_next", "window": 1})
            online = await next_event(records, "device.online")
            cleared = await next_event(records, "device.alarm")
        assert online["device"] == "voice-hall"
        assert cleared["alarm"] == "speaker_failed" and cleared["active"] is False
        await engine.drain()
        kinds = [r.type for r in engine.journal.replay()]
        assert kinds.count("device.offline") == 1
        # only what a speaker took is journaled as announced: the call after it came back
        assert kinds.count("voice.announced") == 1


async def test_without_clips_or_engine_every_zone_is_reported_down(tmp_path: Path) -> None:
    config = voice_hall(
        tmp_path, tmp_path / "no-clips", '  engine: "no-such-tts -w {out} {text}"\n'
    )
    async with Running(config, tmp_path / "journal.db") as engine:
        service = VoiceService(config, engine)
        with engine.subscribe() as records:
            with pytest.raises(BuildError, match="TTS engine not found: no-such-tts"):
                await service.run()
            offline = await next_event(records, "device.offline")
        assert offline["device"] == "voice-hall" and "clip set" in offline["detail"]


async def test_a_clip_set_that_cannot_say_a_template_reports_every_zone_down(
    clip_set: ClipSet, clip_dir: Path, tmp_path: Path
) -> None:
    config = voice_hall(tmp_path, clip_dir, QUICK)
    lacking = ClipSet(clip_set.rate, {k: v for k, v in clip_set.clips.items() if k != "等候"})
    async with Running(config, tmp_path / "journal.db") as engine:
        service = VoiceService(config, engine, clips=lacking)
        with engine.subscribe() as records:
            with pytest.raises(ClipSetError, match=r"missing 1 of the clips .*\(等候\)"):
                await service.run()
            offline = await next_event(records, "device.offline")
            alarm = await next_event(records, "device.alarm")
        assert offline["device"] == "voice-hall" and "等候" in offline["detail"]
        assert alarm["alarm"] == "speaker_failed" and alarm["active"] is True


def test_voice_build_and_say_from_the_command_line(clip_dir: Path, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    shutil.copytree(clip_dir, clips)
    hall = tmp_path / "hall.yaml"
    hall.write_text(
        VOICE_HALL.format(data_dir=tmp_path / "data", clips=clips, voice=""), encoding="utf-8"
    )

    def voice(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hallctl.cli", "voice", *args, "-c", str(hall)],
            capture_output=True, text=True, timeout=30,
        )

    # 28 for calls; a transfer adds 等候 and the two services' spoken names
    built = voice("build")
    assert built.returncode == 0 and built.stdout.endswith(": 31 clips + chime at 22050 Hz\n")
    said = voice("say", "B007", "6", "--wav", str(tmp_path / "b.wav"))
    assert said.returncode == 0, said.stderr
    assert "请B007号到综合受理窗口办理" in said.stdout
    assert "chime 请 B 0 0 7 号 到 综合受理窗口 办理" in said.stdout
    assert soxi(tmp_path / "b.wav", "-r") == "22050"
    bad = voice("say", "B007", "42")
    assert bad.returncode == 1 and "no window 42" in bad.stderr
    moved = voice("say", "A012", "5", "--to", "SB", "--wav", str(tmp_path / "t.wav"))
    assert moved.returncode == 0, moved.stderr
    assert "请A012号到社保等候" in moved.stdout and "号 到 社保 等候" in moved.stdout
    bad = voice("say", "A012", "5", "--to", "GJJ")
    assert bad.returncode == 1 and "no service 'GJJ'" in bad.stderr


def test_a_clip_the_templates_need_is_a_check_error_not_silence(
    clip_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hallctl.cli import main

    clips = tmp_path / "clips"
    shutil.copytree(clip_dir, clips)
    hall = tmp_path / "hall.yaml"
    hall.write_text(
        VOICE_HALL.format(data_dir=tmp_path / "data", clips=clips, voice=""), encoding="utf-8"
    )

    def hallctl(*args: str) -> tuple[int, str]:
        code = main([*args, "-c", str(hall)])
        return code, capsys.readouterr().err

    assert hallctl("check") == (0, "")
    assert hallctl("voice", "check") == (0, "")
    (clips / "等候.wav").unlink()  # the transfer template's word
    for code, err in (hallctl("check"), hallctl("voice", "check")):
        assert code == 1
        assert "is missing 1 of the clips the templates need (等候): run `hallctl voice build`" \
            in err
    # with transfers not announced, the clip is not needed
    quiet = hall.read_text(encoding="utf-8") + "  triggers: [ticket.called]\n"
    hall.write_text(quiet, encoding="utf-8")
    assert hallctl("check") == (0, "")
    # before the first start there is no clip set: fine while its engine is installed
    shutil.rmtree(clips)
    assert hallctl("check") == (0, "")
    code, err = hallctl("voice", "check")
    assert code == 1 and "no clip set in" in err
    hall.write_text(quiet + '  engine: "no-such-tts -w {out} {text}"\n', encoding="utf-8")
    code, err = hallctl("check")
    assert code == 1 and "the TTS engine 'no-such-tts' that would build it is not" in err


TWO_ZONES = QUICK + """  zones:
    - {name: east, windows: [1, 2, 3, 4, 5, 6]}
    - {name: west, windows: [7, 8, 9, 10, 11, 12]}
"""


async def test_a_transfer_is_said_where_the_citizen_stands_and_gives_way_to_a_newer_call(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    config = voice_hall(tmp_path, clip_dir, TWO_ZONES)
    # each speaker holds the zone for a quarter of the announcement's length (about 0.5 s)
    outputs: dict[str, Output] = {
        z: FileOutput(tmp_path / z, time_scale=4) for z in ("east", "west")
    }
    async with voiced(config, clip_set, tmp_path, outputs) as (engine, _):
        for w in (1, 2, 10):
            await engine.execute({"action": "open_window", "window": w})
        with engine.subscribe() as records:
            for _ in range(3):
                await engine.execute({"action": "take_ticket", "service": "BDC"})
            await engine.execute({"action": "call_next", "window": 1})  # A001: east speaks
            first = await next_event(records, "voice.announced")
            moved = await engine.execute({"action": "transfer", "window": 1, "service": "SB"})
            assert moved["ok"], moved
            spoken = await next_event(records, "voice.announced")
        assert first["text"] == "请A001号到1号窗口办理" and first["zone"] == "east"
        # said in the zone of window 1, which A001 left, naming the line it joins
        assert spoken["text"] == "请A001号到社保等候" and spoken["zone"] == "east"
        assert spoken["trigger"] == "ticket.transferred" and spoken["window"] == 1
        assert spoken["trigger_seq"] > first["trigger_seq"]

        # A002 is being called in the east when window 1 transfers it; window 10 (west, 社保)
        # calls it before the east zone is free: the east drops the transfer, unsaid
        with engine.subscribe() as records:
            await engine.execute({"action": "call_next", "window": 1})  # A002
            assert (await next_event(records, "voice.announced"))["ticket"] == "A002"
            front = {"action": "transfer", "window": 1, "service": "SB", "front": True}
            assert (await engine.execute(front))["ok"]
            called = await engine.execute({"action": "call_next", "window": 10})
            assert called["result"]["ticket"] == "A002"
            await engine.execute({"action": "call_next", "window": 2})  # A003, east
            later = [await next_event(records, "voice.announced") for _ in range(2)]
        assert {(e["zone"], e["ticket"], e["trigger"]) for e in later} == {
            ("west", "A002", "ticket.called"),
            ("east", "A003", "ticket.called"),
        }
        await engine.drain()
        said = [
            json.loads(r.data)["text"]
            for r in engine.journal.replay()
            if r.type == "voice.announced"
        ]
        assert "请A002号到社保等候" not in said
