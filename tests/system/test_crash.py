"""kill -9 at random moments under load: no acknowledged ticket lost, no number reused."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import pytest

from hallctl.control import ControlError
from hallctl.journal import Journal
from tests.system.halls import DaemonProcess, write_hall

pytestmark = pytest.mark.slow


def _load(daemon: DaemonProcess, acked: list[str], stop: threading.Event, tag: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            r = daemon.request(
                {
                    "action": "take_ticket",
                    "service": random.choice(["BDC", "SB"]),
                    "request_id": f"{tag}:{n}",
                },
                timeout=3,
            )
        except ControlError:
            time.sleep(0.01)
            continue
        if r.get("ok"):
            acked.append(r["result"]["ticket"])


def test_kill_minus_nine_loses_no_acknowledged_ticket(tmp_path: Path) -> None:
    daemon = DaemonProcess(write_hall(tmp_path), tmp_path / "daemon.log")
    acked: list[str] = []
    rng = random.Random(20261125)
    for round_ in range(8):
        daemon.start()
        stop = threading.Event()
        workers = [
            threading.Thread(target=_load, args=(daemon, acked, stop, f"r{round_}w{i}"))
            for i in range(3)
        ]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.2, 1.2))
        daemon.kill9()  # mid-load, with requests in flight
        stop.set()
        for w in workers:
            w.join()
    daemon.start()
    status = daemon.request({"action": "status"})["result"]
    daemon.stop()

    with Journal(tmp_path / "data" / "journal.db") as journal:
        issued = [
            json.loads(r.data)["ticket"] for r in journal.replay() if r.type == "ticket.issued"
        ]
    assert len(acked) > 100, "the load should have issued many tickets"
    assert len(issued) == len(set(issued)), "a ticket number was reused"
    missing = set(acked) - set(issued)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
    assert status["tickets_today"] == len(issued)
