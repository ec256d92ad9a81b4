"""The MQTT sink on its own publish-only connection, against a real Mosquitto: TLS with a
password, a broker restarted in the middle of a backlog, a publish refused by the broker's ACL
(PUBACK reason code), the `mqtt.forward` filters and start position, and its health topic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from hallctl.broker import Mosquitto
from hallctl.forward.mqtt_sink import CURSOR
from hallctl.forward.sinks import SinksComponent
from hallctl.journal import Journal
from hallctl.mqtt.link import MqttLink
from tests.sinks_support import issue, running_engine
from tests.test_mqtt_forward import assert_complete_and_in_order
from tests.test_mqtt_support import (
    BROKER_OPTIONS,
    Collector,
    StandInEngine,
    client_for,
    persistent_backend,
    running_forwarder,
    settings_for,
    subscribed,
)


async def _until(condition: Any, within_s: float = 20) -> None:
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - a test may poll
            await asyncio.sleep(0.02)


async def test_forwards_over_tls_with_a_password_on_a_connection_of_its_own(
    mosquitto_factory: Any, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker: Mosquitto = mosquitto_factory(tls=True, password_users={"hall": "s3cret-密码"})
    monkeypatch.setenv("HALL_MQTT_PASSWORD", "s3cret-密码")
    settings = settings_for(broker.url, username="hall", password_env="HALL_MQTT_PASSWORD",
                            tls={"ca_file": str(broker.ca_path)})
    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=120)
    async with running_forwarder(engine, settings) as forwarder:
        await _until(lambda: forwarder.health.cursor == 120)
    assert journal.cursor(CURSOR) == 120
    assert forwarder.health.last_error is None
    assert "as hallctl-h1-fwd (p5, c1, k5, u'hall')" in broker.log_text()


async def test_a_wrong_password_is_retried_and_reported(
    mosquitto_factory: Any, journal: Journal, tmp_path: Path
) -> None:
    broker: Mosquitto = mosquitto_factory(password_users={"hall": "right"})
    secret = tmp_path / "mqtt.pw"
    secret.write_text("wrong\n")
    settings = settings_for(broker.url, username="hall", password_file=str(secret))
    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=3)
    async with running_forwarder(engine, settings) as forwarder:
        await _until(lambda: forwarder.health.state == "retrying")
        # Mosquitto answers a wrong password with CONNACK 0x87 (not authorized)
        assert "broker refused the connection" in (forwarder.health.last_error or "")
        secret.write_text("right\n")  # read again at every connect: no restart needed
        await _until(lambda: forwarder.health.cursor == 3)


async def test_a_broker_restarted_mid_backlog_loses_nothing_and_keeps_the_order(
    mosquitto_factory: Any, journal: Journal, tmp_path: Path
) -> None:
    broker: Mosquitto = mosquitto_factory(extra_config=(
        f"{BROKER_OPTIONS}\npersistence true\npersistence_location {tmp_path}/\n"))
    backend = persistent_backend()
    async with client_for(broker.url, **backend) as client:
        await client.subscribe("hallctl/h1/events/#", qos=1)

    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=4000)
    # batches of 100: the cursor is saved mid-way (every SAVE_EVERY batches)
    async with running_forwarder(engine, settings_for(broker.url, forward_batch=100)) as forwarder:
        await _until(lambda: forwarder.health.cursor >= 500)
        assert forwarder.health.cursor < 4000  # mid-backlog: the premise of this test
        await broker.arestart()  # batches in flight, PUBACKs outstanding
        await _until(lambda: forwarder.health.cursor == 4000, within_s=60)
        assert forwarder.health.last_error is not None  # it noticed, and went on

    seen = Collector()
    async with client_for(broker.url, **backend) as client:
        async def pump() -> None:
            async for message in client.messages:
                seen.add(message)

        task = asyncio.create_task(pump())
        await seen.wait_until(lambda: len({e["id"] for e in seen.events()}) >= 4000, within_s=30)
        task.cancel()
    assert_complete_and_in_order(seen.events(), 4000)


async def test_a_publish_refused_by_the_acl_parks_the_sink_at_that_batch_with_an_alarm(
    mosquitto_factory: Any, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    acl = "user hall\ntopic write hallctl/h1/events/ticket.issued\n"
    broker: Mosquitto = mosquitto_factory(password_users={"hall": "pw"}, acl_file=acl)
    monkeypatch.setenv("PW", "pw")
    settings = settings_for(broker.url, username="hall", password_env="PW", forward_batch=3)
    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=3)
    await engine.append("device.offline", {"device": "printer-1"})  # not allowed by the ACL
    await engine.append("ticket.issued", count=2)
    async with running_forwarder(engine, settings) as forwarder:
        await _until(lambda: forwarder.health.state == "parked")
        await asyncio.sleep(0.2)
        report = forwarder.report()
    # MQTT 5: the broker answered that PUBLISH with PUBACK reason code 0x87
    assert "not authorized (0x87)" in report["last_error"]
    assert "hallctl/h1/events/device.offline" in report["last_error"]
    assert journal.cursor(CURSOR) == 3  # nothing skipped: it stops at the refused batch
    assert report["lag_records"] == 3
    alarms = [r for r in engine.requests if r.get("action") == "device_alarm"]
    assert alarms and alarms[0]["alarm"] == "rejected" and alarms[0]["active"] is True
    assert alarms[0]["device"] == "sink:mqtt"


async def test_forward_filters_and_start_position_come_from_the_mqtt_section(
    mosquitto: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    await engine.append("ticket.issued", count=5)  # before the hall had forwarding: not sent
    settings = settings_for(mosquitto.url, forward={
        "start": "now", "exclude_events": ["staff.*"], "drop_fields": ["id_hash"]})
    async with subscribed(mosquitto.url, "hallctl/h1/events/#") as seen, \
            running_forwarder(engine, settings) as forwarder:
        await _until(lambda: forwarder.health.cursor == 5)
        await engine.append("staff.clock_in", {"staff": "1001", "id_hash": "x"})
        await engine.append("ticket.called", {"ticket": "A001", "id_hash": "y"})
        await _until(lambda: forwarder.health.cursor == 7)
        await seen.wait_until(lambda: len(seen.messages) >= 1)
        await asyncio.sleep(0.2)
    assert [(e["seq"], e["type"]) for e in seen.events()] == [(7, "ticket.called")]
    assert seen.events()[0]["data"] == {"ticket": "A001", "n": 0}


async def test_the_daemon_runs_mqtt_forwarding_as_a_sink_with_its_health_retained(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    extra = f"mqtt: {{url: '{mosquitto.url}', state_interval_ms: 50}}\n"
    async with running_engine(tmp_path, extra) as engine:
        component = SinksComponent(engine.config, engine)
        assert component.needs().cursors == ["mqtt"]
        await issue(engine, 3)
        task = asyncio.create_task(component.run())
        try:
            async with MqttLink(engine, engine.config.mqtt,  # type: ignore[arg-type]
                                retained=component.retained_state) as link:
                await asyncio.wait_for(link.wait_online(), 10)
                topic = f"{link.topics.base}/state/sinks/mqtt"
                async with client_for(mosquitto.url) as client:
                    await client.subscribe(topic, qos=1)
                    async with asyncio.timeout(15):
                        async for message in client.messages:
                            health = json.loads(message.payload)  # type: ignore[arg-type]
                            if health["lag_records"] == 0 and health["cursor"] > 0:
                                break
            assert health["cursor"] == engine.journal.cursor("mqtt") == engine.last_seq()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert health["name"] == "mqtt" and health["type"] == "mqtt" and health["state"] == "ok"
    assert [s["name"] for s in component.status()] == ["mqtt"]
