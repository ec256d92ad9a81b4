"""End to end: `hallctl call` against the running daemon is heard (as a WAV on the file
output), journaled as ``voice.announced`` and served to the display page over HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hallctl.demo_modbus import free_port
from hallctl.journal import Journal
from hallctl.voice.clips import ClipSet
from hallctl.voice.pcm import read_wav
from tests.system.halls import DaemonProcess
from tests.voice.conftest import VOICE_HALL, sox_stat, soxi, spell

WORDS = ["请", "A", "0", "1", "2", "号", "到", "5号窗口", "办理"]


def test_a_call_from_the_command_line_is_spoken_journaled_and_served(
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
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        for args in (["open", "5"], ["ticket", "BDC"], ["call", "5"]):
            done = subprocess.run(
                [sys.executable, "-m", "hallctl.cli", *args, "-c", str(config)],
                capture_output=True, text=True, timeout=30,
            )
            assert done.returncode == 0, done.stderr
        assert "请A012号到5号窗口办理" in done.stdout
        deadline = time.monotonic() + 10
        while not (wavs := sorted(out.glob("*.wav"))) and time.monotonic() < deadline:
            time.sleep(0.05)
        (wav,) = wavs
        # the file speaker got the chime, then the words twice, and nothing else
        assert spell(read_wav(wav).to_bytes(), clip_set.clips) == ["chime", *WORDS, *WORDS]
        assert soxi(wav, "-r") == "22050" and sox_stat(wav)["Maximum amplitude"] < 0.99
        while time.monotonic() < deadline:
            with Journal(tmp_path / "data" / "journal.db") as journal:
                events = [r for r in journal.replay() if r.type == "voice.announced"]
            if events:
                break
            time.sleep(0.05)
        (event,) = events
        data = json.loads(event.data)
        assert data["text"] == "请A012号到5号窗口办理" and data["zone"] == "hall"
        url = f"http://127.0.0.1:{port}{data['audio_url']}"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.headers["Content-Type"] == "audio/wav"
            assert response.read() == wav.read_bytes()
    finally:
        assert daemon.stop() == 0
