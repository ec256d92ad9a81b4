"""Who may ask what: the broker keeps kiosks on their own topics (the ACL of docs/kiosks.md),
and the daemon keeps them to their own actions and pace even when the broker is open.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hallctl.broker import Mosquitto
from tests.test_kiosk_support import BASE, Hall, documented_acl, running_hall
from tests.test_mqtt_support import BROKER_OPTIONS, Collector, client_for

PASSWORDS = {"hallctl": "pw-hall", "K1": "pw-k1", "K2": "pw-k2"}
NO_ANSWER_S = 1.0


def error_code(answer: dict[str, Any]) -> str:
    assert answer["ok"] is False, answer
    assert answer["error"]["message"] and answer["error"]["message_zh"]
    return answer["error"]["code"]  # type: ignore[no-any-return]


# ---- the daemon's own checks (open broker: anyone may publish anywhere) ------------------


@pytest.fixture
async def hall(mosquitto_factory: Any, tmp_path: Path) -> AsyncIterator[Hall]:
    broker: Mosquitto = mosquitto_factory(extra_config=BROKER_OPTIONS)
    async with running_hall(broker.url, tmp_path) as running:
        await running.do("open_window", window=1)
        await running.do("open_window", window=2)
        yield running


async def test_a_kiosk_id_the_hall_does_not_know_is_forbidden_before_the_engine(
    hall: Hall,
) -> None:
    before = hall.journal_types()
    async with hall.kiosk("K9") as stranger:
        answer = await stranger.request("take_ticket", {"service": "BDC"})
    assert error_code(answer) == "forbidden"
    assert answer["error"]["message_zh"] == "无权执行该操作"
    assert "K9" in answer["error"]["message"]
    assert hall.journal_types() == before


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("call_next", {"window": 1}),
        ("close_window", {"window": 1}),
        ("pause_window", {"window": 1}),
        ("open_window", {"window": 3}),
        ("take_tiket", {"service": "BDC"}),  # not a kiosk action at all
    ],
)
async def test_a_kiosk_never_calls_closes_or_opens_a_window(
    hall: Hall, action: str, fields: dict[str, Any]
) -> None:
    before = hall.journal_types()
    async with hall.kiosk("K1") as k1:
        assert error_code(await k1.request(action, fields)) == "forbidden"
    assert hall.engine.hall.state.window(1).status == "open"
    assert hall.engine.hall.state.window(3).status == "closed"
    assert hall.journal_types() == before


async def test_actions_are_granted_per_kiosk(hall: Hall) -> None:
    async with hall.kiosk("K1") as k1, hall.kiosk("KLOOK") as look, hall.kiosk("KG") as kg:
        assert error_code(await k1.request("green_ticket", {"service": "BDC"})) == "forbidden"
        assert error_code(await look.request("take_ticket", {"service": "BDC"})) == "forbidden"
        assert (await look.request("queue_status"))["ok"] is True
        assert (await kg.request("green_ticket", {"service": "BDC"}))["ok"] is True
    assert hall.journal_types().count("ticket.issued") == 1


async def test_a_kiosk_beyond_its_rate_is_refused_and_nothing_changes(hall: Hall) -> None:
    # KSLOW: 6 a minute, 2 at once.
    async with hall.kiosk("KSLOW") as slow, hall.kiosk("K1") as k1:
        first = await slow.request("take_ticket", {"service": "BDC"})
        second = await slow.request("take_ticket", {"service": "BDC"})
        third = await slow.request("take_ticket", {"service": "BDC"})
        reads_too = await slow.request("list_services")
        other_kiosk = await k1.request("take_ticket", {"service": "BDC"})
    assert first["ok"] and second["ok"]
    assert error_code(third) == "rate_limited"
    assert third["error"]["message_zh"] == "请求过于频繁，请稍后再试"
    assert error_code(reads_too) == "rate_limited"
    assert other_kiosk["result"]["ticket"] == "A003"  # buckets are per kiosk
    assert hall.journal_types().count("ticket.issued") == 3


# ---- the broker's ACL (docs/kiosks.md, verbatim) -----------------------------------------


@pytest.fixture
async def acl_hall(
    mosquitto_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Hall]:
    # Default queue options: with `max_queued_messages 0`, Mosquitto 2.0.11 drops the whole
    # connection of a client whose QoS 1 publish the ACL denies (the denial holds either way).
    broker: Mosquitto = mosquitto_factory(password_users=PASSWORDS, acl_file=documented_acl())
    monkeypatch.setenv("HALLCTL_MQTT_PASSWORD", PASSWORDS["hallctl"])
    daemon_login = "  username: hallctl\n  password_env: HALLCTL_MQTT_PASSWORD"
    async with running_hall(
        broker.url, tmp_path, mqtt_extra=daemon_login,
        events_options={"username": "hallctl", "password": PASSWORDS["hallctl"]},
    ) as running:
        await running.do("open_window", window=1)
        yield running


def login(kiosk_id: str) -> dict[str, str]:
    return {"username": kiosk_id, "password": PASSWORDS[kiosk_id]}


async def test_with_the_documented_acl_a_kiosk_still_takes_tickets(acl_hall: Hall) -> None:
    async with acl_hall.kiosk("K1", **login("K1")) as k1:
        answer = await k1.request("take_ticket", {"service": "BDC"})
    assert answer["result"]["ticket"] == "A001"


async def test_the_broker_drops_a_kiosks_request_to_the_back_end_endpoint(
    acl_hall: Hall,
) -> None:
    before = acl_hall.journal_types()
    async with acl_hall.kiosk("K1", **login("K1")) as k1:
        with pytest.raises(TimeoutError):
            await k1.request("close_window", {"window": 1}, topic=f"{BASE}/request/close_window",
                             timeout_s=NO_ANSWER_S)
        # Same connection, permitted topic: answered, so the connection itself was fine.
        assert (await k1.request("list_services"))["ok"] is True
    assert acl_hall.engine.hall.state.window(1).status == "open"
    assert acl_hall.journal_types() == before


async def test_the_broker_keeps_a_kiosk_off_another_kiosks_id(acl_hall: Hall) -> None:
    async with acl_hall.kiosk("K1", **login("K1")) as k1:
        with pytest.raises(TimeoutError):
            await k1.request("take_ticket", {"service": "BDC"}, topic=k1.topic("take_ticket", "K2"),
                             timeout_s=NO_ANSWER_S)
    assert "ticket.issued" not in acl_hall.journal_types()


async def test_a_kiosk_cannot_read_another_kiosks_answers(acl_hall: Hall) -> None:
    spy = Collector()
    async with client_for(acl_hall.url, identifier=f"spy-{uuid.uuid4().hex[:6]}",
                          **login("K1")) as client:
        await client.subscribe(f"{BASE}/kiosk/K2/response/#", qos=1)
        await client.subscribe(f"{BASE}/kiosk/K1/response/#", qos=1)  # control: allowed

        async def pump(c: aiomqtt.Client) -> None:
            async for message in c.messages:
                spy.add(message)

        task = asyncio.create_task(pump(client))
        try:
            async with acl_hall.kiosk("K2", **login("K2")) as k2, \
                    acl_hall.kiosk("K1", **login("K1")) as k1:
                assert (await k2.request("take_ticket", {"service": "BDC"}))["ok"]
                assert (await k1.request("take_ticket", {"service": "BDC"}))["ok"]
            await spy.wait_until(lambda: len(spy.messages) >= 1)
        finally:
            task.cancel()
    # Only K1's own answer reached the K1 login; K2's (A001) never did.
    assert [m.topic.value.split("/")[3] for m in spy.messages] == ["K1"]
    assert b"A001" not in b"".join(bytes(m.payload) for m in spy.messages)
