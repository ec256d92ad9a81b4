"""A full disk: changes are refused `disk_full`, reads go on, an alarm shows, and the hall
resumes by itself when space returns. A restart on a full disk says so in one sentence.

The real thing: a 1 MiB tmpfs filled to the last byte (needs root, as in CI; skipped where
mounting is not allowed). The same path is also driven by SQLite's own page limit
(`max_page_count`: SQLITE_FULL, "database or disk is full"), which needs no privileges.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hallctl import disk_watch
from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from tests.hall.conftest import SMALL_HALL
from tests.sinks_support import wait_for
from tests.test_engine import Running
from tests.test_mqtt_support import (
    BROKER_OPTIONS,
    StandInEngine,
    running_forwarder,
    settings_for,
    subscribed,
)


@pytest.fixture
def config() -> HallConfig:
    return parse_config(SMALL_HALL)


@pytest.fixture(autouse=True)
def quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk_watch, "PROBE_S", 0.2)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0750", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; the file returned gives them back when deleted."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def journal_types(path: Path) -> list[str]:
    with Journal(path) as j:
        return [r.type for r in j.replay()]


async def take(engine: HallEngine, n: int) -> dict[str, object]:
    return await engine.execute({"action": "take_ticket", "service": "BDC",
                                 "request_id": f"t-{n}"})


async def _ride_out_a_full_disk(engine: HallEngine, path: Path, free: object) -> None:
    """The promise, whatever made the disk full; `free` gives the space back."""
    answers = [await take(engine, n) for n in range(1, 200)]
    refused = [a for a in answers if not a["ok"]]
    assert refused, "the disk never filled up"
    error = refused[0]["error"]
    assert error["code"] == "disk_full" and "disk full" in error["message"].lower()  # type: ignore[index]
    issued = len(answers) - len(refused)
    # Memory went back to what the journal holds: no ticket exists that was not acknowledged.
    assert journal_types(path).count("ticket.issued") == issued
    assert len(engine.hall.state.tickets) == issued

    status = await engine.execute({"action": "status"})  # reads keep working
    assert status["ok"] is True
    assert "disk_full" in [a["alarm"] for a in status["result"]["alarms"]]  # type: ignore[index]
    alarms = engine.retained_state()["state/alarms"]["alarms"]
    assert [a["alarm"] for a in alarms] == ["disk_full"]
    again = await take(engine, 1000)
    assert again["ok"] is False and again["error"]["code"] == "disk_full"  # type: ignore[index]

    free()  # type: ignore[operator]
    for _ in range(50):  # within a probe interval or two
        resumed = await take(engine, 1000)  # the same request id: it was not used up
        if resumed["ok"]:
            break
        await asyncio.sleep(0.1)
    assert resumed["ok"] is True
    assert resumed["result"]["ticket"] == f"A{issued + 1:03d}"  # type: ignore[index]  # no reuse
    status = await engine.execute({"action": "status"})
    assert "disk_full" not in [a["alarm"] for a in status["result"]["alarms"]]  # type: ignore[index]
    assert "disk_full" not in str(engine.retained_state()["state/alarms"])
    types = journal_types(path)
    assert types[-3:] == ["alarm.raised", "alarm.cleared", "ticket.issued"]


async def test_a_full_file_system(config: HallConfig, small_disk: Path) -> None:
    path = small_disk / "journal.db"
    async with Running(config, path) as engine:
        await engine.execute({"action": "open_window", "window": 1})
        filler = fill(small_disk)
        await _ride_out_a_full_disk(engine, path, filler.unlink)


async def test_sqlites_own_limit(config: HallConfig, tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    async with Running(config, path) as engine:
        await engine.execute({"action": "open_window", "window": 1})
        writer = engine.journal._writer  # the fault is set on SQLite itself
        pages = writer.execute("PRAGMA page_count").fetchone()[0]
        writer.execute(f"PRAGMA max_page_count = {pages + 2}")

        def free() -> None:
            writer.execute("PRAGMA max_page_count = 1073741823")

        await _ride_out_a_full_disk(engine, path, free)


def test_starting_on_a_full_disk_says_so_without_a_traceback(
    config: HallConfig, small_disk: Path, tmp_path: Path
) -> None:
    data = small_disk / "data"
    hall = tmp_path / "hall.yaml"
    hall.write_text(SMALL_HALL + f"data_dir: {data}\n", encoding="utf-8")
    with Journal(data / "journal.db"):
        pass
    fill(small_disk)
    env = {**os.environ, "HALLCTL_LOG_LEVEL": "warning"}
    run = subprocess.run([sys.executable, "-m", "hallctl.cli", "run", "-c", str(hall)],
                         capture_output=True, text=True, timeout=30, env=env)
    assert run.returncode == 1
    assert "disk full" in run.stderr and "Traceback" not in run.stderr, run.stderr


async def test_forwarding_goes_on_when_its_cursor_cannot_be_saved(
    small_disk: Path, mosquitto_factory: Any
) -> None:
    broker = mosquitto_factory(extra_config=BROKER_OPTIONS)
    with Journal(small_disk / "journal.db") as journal:
        engine = StandInEngine(journal)
        await engine.append("ticket.issued", count=5)  # not yet forwarded
        filler = fill(small_disk)  # saving the forwarder's cursor needs space now
        async with subscribed(broker.url, "hallctl/h1/events/#") as seen, \
                running_forwarder(engine, settings_for(broker.url)) as forwarder:
            await seen.wait_until(lambda: len(seen.events()) == 5)
            await asyncio.sleep(0.3)
            assert forwarder.health.last_error is None  # the connection never dropped
            assert len(seen.events()) == 5  # so nothing was sent twice
            filler.unlink()
            await engine.append("ticket.called")
            await seen.wait_until(lambda: len(seen.events()) == 6)
            # saved again once there was room (after the PUBACK, so not at once)
            await wait_for(lambda: journal.cursor("mqtt") == 6, within_s=5)
