"""Speakers on the display PC: the main display page in Debian's Chromium (started with the
autoplay flag docs/voice.md gives) plays each announcement of its zone, fetched from the real
daemon, a call and a transfer alike, and what it fetched is the announcement's audio."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from playwright.async_api import Response

from hallctl.demo_modbus import free_port
from hallctl.voice.clips import ClipSet
from hallctl.voice.pcm import from_bytes
from hallctl.web.tokens import token_hash
from tests.browser import ARGS, chromium
from tests.system.halls import DaemonProcess, cli
from tests.voice.conftest import spell

# every play() the page makes, and how it ended (resolved, or the browser's refusal)
RECORD_PLAYS = """
window.__plays = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  const entry = {src: this.src, result: "pending"};
  window.__plays.push(entry);
  const p = play.call(this);
  p.then(() => { entry.result = "playing"; }, (e) => { entry.result = e.name; });
  return p;
};
"""


def hall_file(tmp: Path, port: int, clips: Path) -> Path:
    path = tmp / "hall.yaml"
    path.write_text(f"""
version: 1
hall: {{id: voice-web, name: 语音显示大厅, timezone: Asia/Shanghai}}
services:
  - {{code: BDC, name: 不动产登记, prefix: A, number_start: 12}}
  - {{code: SB, name: 社保, prefix: B}}
windows:
  - {{number: 5, services: [BDC, SB]}}
data_dir: {tmp / "data"}
http: {{host: 127.0.0.1, port: {port}}}
web:
  screens:
    - {{id: main, page: display, voice: true, token_sha256: {token_hash("tok-main")}}}
voice:
  clips: {clips}
  chime: false
  repeat: 1
  zones: [{{name: main, output: {{kind: none}}}}]
""", encoding="utf-8")
    return path


async def test_the_display_page_plays_each_announcement_of_its_zone(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    assert "--autoplay-policy=no-user-gesture-required" in ARGS  # the flag halls must use
    clips = tmp_path / "clips"
    shutil.copytree(clip_dir, clips)
    port = free_port()
    config = hall_file(tmp_path, port, clips)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    fetched: dict[str, bytes] = {}
    try:
        async with chromium() as browser:
            page = await browser.new_page()
            await page.add_init_script(RECORD_PLAYS)

            async def on_response(response: Response) -> None:
                if "/voice/" in response.url and response.ok:
                    fetched[response.url.split(str(port), 1)[1]] = await response.body()

            page.on("response", on_response)
            await page.goto(f"http://127.0.0.1:{port}/display/main?t=tok-main")
            for args in (["open", "5"], ["ticket", "BDC"], ["call", "5"], ["transfer", "5", "SB"]):
                done = await asyncio.to_thread(cli, config, *args, timeout=30)
                assert done.returncode == 0, done.stderr

            async def plays() -> list[dict[str, Any]]:
                got: list[dict[str, Any]] = await page.evaluate("window.__plays")
                return got

            async with asyncio.timeout(15):
                while [p["result"] for p in await plays()] != ["playing", "playing"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            srcs = [p["src"].split(str(port), 1)[1] for p in await plays()]
            assert all(s.startswith("/voice/main/") and s.endswith(".wav") for s in srcs)
            assert set(srcs) <= set(fetched)
    finally:
        assert daemon.stop() == 0
    call, moved = (spell(from_bytes(fetched[s][44:]).tobytes(), clip_set.clips) for s in srcs)
    assert call == ["请", "A", "0", "1", "2", "号", "到", "5号窗口", "办理"]
    assert moved == ["请", "A", "0", "1", "2", "号", "到", "社保", "等候"]
