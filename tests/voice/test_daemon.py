"""End to end: `hallctl call` and `hallctl transfer` against the running daemon are heard (as
WAVs on the file output), journaled as ``voice.announced`` and served to the display page over
HTTP."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

from hallctl.demo_modbus import free_port
from hallctl.journal import Journal
from hallctl.voice.clips import ClipSet
from hallctl.voice.pcm import read_wav
from tests.system.halls import DaemonProcess, cli
from tests.voice.conftest import VOICE_HALL, sox_stat, soxi, spell

WORDS = ["请", "A", "0", "1", "2", "号", "到", "5号窗口", "办理"]
MOVED = ["请", "A", "0", "1", "2", "号", "到", "社保", "等候"]


def wait_for(what: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := what()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return got


def test_a_call_and_a_transfer_from_the_command_line_are_spoken_journaled_and_served(
    clip_dir: Path, clip_set: ClipSet, tmp_path: Path
) -> None:
    clips = tmp_path / "clips"
    shutil.copytree(clip_dir, clips)  # the daemon finds every clip built: nothing to synthesise
    port = free_port()
    out = tmp_path / "spoken"
    text = VOICE_HALL.replace("prefix: A}}", "prefix: A, number_start: 12}}").format(
        data_dir=tmp_path / "data",
        clips=clips,
        voice=f"  zones: [{{name: hall, output: {{kind: file, dir: {out}, realtime: false}}}}]",
    )
    config = tmp_path / "hall.yaml"
    config.write_text(text + f"http: {{host: 127.0.0.1, port: {port}}}\n", encoding="utf-8")

    def announced() -> list[dict[str, Any]]:
        with Journal(tmp_path / "data" / "journal.db") as journal:
            return [json.loads(r.data) for r in journal.replay() if r.type == "voice.announced"]

    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        for args in (["open", "5"], ["ticket", "BDC"], ["call", "5"]):
            done = cli(config, *args, timeout=30)
            assert done.returncode == 0, done.stderr
        assert "请A012号到5号窗口办理" in done.stdout
        (wav,) = wait_for(lambda: sorted(out.glob("*.wav")))
        # the file speaker got the chime, then the words twice, and nothing else
        assert spell(read_wav(wav).to_bytes(), clip_set.clips) == ["chime", *WORDS, *WORDS]
        assert soxi(wav, "-r") == "22050" and sox_stat(wav)["Maximum amplitude"] < 0.99
        (event,) = wait_for(announced)
        assert event["text"] == "请A012号到5号窗口办理" and event["zone"] == "hall"
        url = f"http://127.0.0.1:{port}{event['audio_url']}"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.headers["Content-Type"] == "audio/wav"
            assert response.read() == wav.read_bytes()

        # 转移: the window sends A012 to the 社保 line; the citizen at window 5 hears where to go
        done = cli(config, "transfer", "5", "SB", timeout=30)
        assert done.returncode == 0, done.stderr
        _, moved = wait_for(lambda: w if len(w := sorted(out.glob("*.wav"))) == 2 else None)
        assert spell(read_wav(moved).to_bytes(), clip_set.clips) == ["chime", *MOVED, *MOVED]
        _, transfer = wait_for(lambda: a if len(a := announced()) == 2 else None)
        assert transfer["text"] == "请A012号到社保等候"
        assert transfer["trigger"] == "ticket.transferred" and transfer["window"] == 5
        url = f"http://127.0.0.1:{port}{transfer['audio_url']}"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.read() == moved.read_bytes()
    finally:
        assert daemon.stop() == 0
