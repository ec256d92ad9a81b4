"""A face clock pushes to the running daemon: the person is on duty and shown at the window."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.system.halls import DaemonProcess, write_hall


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_zkteco_punch_checks_staff_in_through_the_daemon(tmp_path: Path) -> None:
    port = free_port()
    extra = f"""
staff:
  - {{id: S1, name: 王芳, staff_no: "0101", role: A, windows: [1], external_ids: ["101"]}}
http: {{host: 127.0.0.1, port: {port}}}
attendance:
  adms:
    clocks: [{{sn: CLOCK1, device: clock-lobby}}]
"""
    config = write_hall(tmp_path, extra=extra)
    text = config.read_text(encoding="utf-8").replace(
        "{number: 1, services: [BDC]}", "{number: 1, services: [BDC], default_staff: S1}"
    )
    config.write_text(text, encoding="utf-8")
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        daemon.request({"action": "open_window", "window": 1})
        daemon.request({"action": "assign_staff", "window": 1, "staff": None})
        now = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
        # one punch, one line no parser reads (kept raw in the journal's file, never dropped)
        body = f"101\t{now}\t0\t15\t0\t0\t0\n101 garbled\n".encode()
        url = f"http://127.0.0.1:{port}/iclock/cdata?SN=CLOCK1&table=ATTLOG&Stamp=1"
        deadline = time.monotonic() + 10
        while True:  # the HTTP server comes up with the daemon's components
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=5) as r:
                    answer = r.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert answer == "OK: 2"
        status = daemon.request({"action": "status"})["result"]
        assert status["staff_on_duty"] == ["S1"]
        window = next(w for w in status["windows"] if w["window"] == 1)
        assert window["staff"] == {"id": "S1", "name": "王芳", "staff_no": "0101"}  # 挂牌上岗
        wrong = urllib.request.Request(url.replace("CLOCK1", "EVIL"), data=body)
        try:
            urllib.request.urlopen(wrong, timeout=5)
            raise AssertionError("an unknown clock must be refused")
        except urllib.error.HTTPError as e:
            assert e.code == 403
    finally:
        assert daemon.stop() == 0
    events = [json.loads(line) for line in (tmp_path / "daemon.log").read_text().splitlines()
              if line.startswith("{")]
    assert any(e.get("event") == "http.listening" for e in events)
    [journal] = [p for p in tmp_path.rglob("journal*.db")]
    with sqlite3.connect(journal) as db:
        kept = db.execute("SELECT device, line FROM attendance_quarantine").fetchall()
    assert kept == [("clock-lobby", "101 garbled")]
