"""Personal data never leaves the hall in clear: a phone or ID number typed at a kiosk reaches
the journal, the back end and the kiosk's answer only as a keyed hash and a mask.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hallctl.broker import Mosquitto
from tests.test_kiosk_support import Hall, running_hall
from tests.test_mqtt_support import BROKER_OPTIONS

PHONE = "13812345678"
ID_NUMBER = "11010119900307123X"


@pytest.fixture
async def hall(mosquitto_factory: Any, tmp_path: Path) -> AsyncIterator[Hall]:
    broker: Mosquitto = mosquitto_factory(extra_config=BROKER_OPTIONS)
    async with running_hall(broker.url, tmp_path) as running:
        await running.do("open_window", window=1)
        await running.do("open_window", window=3)
        yield running


async def test_the_kiosk_gets_the_mask_only(hall: Hall) -> None:
    async with hall.kiosk("K1") as k1:
        by_phone = await k1.request("take_ticket", {"service": "GJJ", "phone": PHONE})
        by_id = await k1.request("take_ticket", {"service": "BDC", "id_number": ID_NUMBER})
    assert by_phone["result"]["id_masked"] == "138****5678"
    assert by_id["result"]["id_masked"] == "110***********123X"
    assert "id_hash" not in by_phone["result"]  # the kiosk has no use for it


async def test_the_forwarded_event_carries_mask_and_keyed_hash_never_the_number(
    hall: Hall, capfd: pytest.CaptureFixture[str]
) -> None:
    async with hall.kiosk("K1") as k1:
        await k1.request("take_ticket", {"service": "GJJ", "phone": PHONE})
        await k1.request("take_ticket", {"service": "BDC", "id_number": ID_NUMBER})
    await hall.events.wait_until(
        lambda: sum(e["type"] == "ticket.issued" for e in hall.events.events()) == 2
    )
    raw = b"".join(bytes(m.payload) for m in hall.events.messages)
    assert PHONE.encode() not in raw and ID_NUMBER.encode() not in raw
    assert b"110101199003" not in raw  # not even the birth date part
    issued = [e["data"] for e in hall.events.events() if e["type"] == "ticket.issued"]
    assert [d["id_masked"] for d in issued] == ["138****5678", "110***********123X"]
    for data in issued:
        assert len(data["id_hash"]) == 32
    # Keyed (per-hall secret): not the plain hash anyone could compute from a phone book.
    assert issued[0]["id_hash"] != hashlib.sha256(PHONE.encode()).hexdigest()[:32]
    # Nor in the daemon's logs.
    logs = capfd.readouterr()
    assert PHONE not in logs.out + logs.err and ID_NUMBER not in logs.out + logs.err


async def test_the_journal_files_never_hold_the_clear_number(hall: Hall) -> None:
    async with hall.kiosk("K1") as k1:
        answer = await k1.request("take_ticket", {"service": "GJJ", "phone": PHONE})
        # the idempotency answer is journaled too: a retry must not bring the number back
        await k1.request("take_ticket", {"service": "GJJ", "phone": PHONE})
    assert answer["ok"]
    files = list(hall.journal_path.parent.glob(hall.journal_path.name + "*"))
    assert hall.journal_path in files  # journal.db, and -wal / -shm while open
    for path in files:
        data = path.read_bytes()
        assert PHONE.encode() not in data, path
        assert PHONE.encode("utf-16-le") not in data, path
    stored = [json.loads(r) for r in _journal_data(hall)]
    assert any(d.get("id_masked") == "138****5678" for d in stored)


def _journal_data(hall: Hall) -> list[str]:
    from hallctl.journal import Journal

    with Journal(hall.journal_path) as journal:
        return [r.data for r in journal.replay()]
