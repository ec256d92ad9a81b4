"""The broker link: status and last will, retained state, reconnects, TLS and passwords.

Everything runs against a real Mosquitto (tests/conftest.py) and the real journal.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hallctl.broker import Mosquitto
from hallctl.journal import Journal
from hallctl.mqtt.link import MqttLink
from tests.test_mqtt_support import (
    BROKER_OPTIONS,
    StandInEngine,
    requester,
    running_link,
    settings_for,
    subscribed,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def broker(mosquitto_factory: object) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[operator, no-any-return]


async def test_status_is_online_while_connected_and_offline_after_a_graceful_stop(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    async with subscribed(broker.url, "hallctl/h1/status") as seen:
        async with running_link(engine, settings_for(broker.url)) as link:
            assert link.topics.status == "hallctl/h1/status"
            await seen.wait_until(lambda: seen.last("hallctl/h1/status") == b"online")
        await seen.wait_until(lambda: seen.last("hallctl/h1/status") == b"offline")
    # Retained: a subscriber that arrives later still learns the hall is offline.
    async with subscribed(broker.url, "hallctl/h1/status") as late:
        await late.wait_until(lambda: late.payloads("hallctl/h1/status") == [b"offline"])
        assert late.on("hallctl/h1/status")[0].retain


async def test_the_broker_publishes_the_last_will_when_the_daemon_dies(
    broker: Mosquitto, tmp_path: Path
) -> None:
    # A SIGKILLed process sends no DISCONNECT: only the will can tell the back end.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "tests" / "test_mqtt_support.py"), broker.url,
        str(tmp_path / "child.db"), "h9",
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=REPO,
    )
    try:
        assert child.stdout is not None
        stdout = child.stdout

        async def read_until_online() -> None:
            # structlog writes to stdout too; skip its lines.
            while line := await stdout.readline():
                if line.strip() == b"ONLINE":
                    return
            raise AssertionError("the child link exited before going online")

        await asyncio.wait_for(read_until_online(), 20)
        async with subscribed(broker.url, "hallctl/h9/status") as seen:
            await seen.wait_until(lambda: seen.last("hallctl/h9/status") == b"online")
            child.send_signal(signal.SIGKILL)
            await seen.wait_until(lambda: seen.last("hallctl/h9/status") == b"offline")
        async with subscribed(broker.url, "hallctl/h9/status") as late:
            await late.wait_until(lambda: late.payloads("hallctl/h9/status") == [b"offline"])
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


async def test_retained_state_is_published_on_connect_and_then_only_what_changed(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    engine.state = {
        "state/windows/1": {"window": 1, "status": "closed", "name": "1号窗口"},
        "state/windows/2": {"window": 2, "status": "closed", "name": "2号窗口"},
        "state/services/BDC": {"service": "BDC", "waiting": 0},
    }
    async with subscribed(broker.url, "hallctl/h1/state/#") as seen, \
            running_link(engine, settings_for(broker.url)):
        await seen.wait_until(lambda: len(seen.messages) == 3)
        assert json.loads(seen.last("hallctl/h1/state/windows/1") or b"") == {
            "window": 1, "status": "closed", "name": "1号窗口"}

        # Window 2 opens (a journal record): only its topic is published again.
        engine.state["state/windows/2"] = {"window": 2, "status": "open", "name": "2号窗口"}
        await engine.append("window.opened", {"window": 2})
        await seen.wait_until(lambda: len(seen.on("hallctl/h1/state/windows/2")) == 2)
        # A topic that disappears from the state is deleted (empty retained payload).
        del engine.state["state/services/BDC"]
        await engine.append("day.started")
        await seen.wait_until(lambda: seen.last("hallctl/h1/state/services/BDC") == b"")
        await asyncio.sleep(0.2)  # room for any wrongful republish to show up
        assert len(seen.on("hallctl/h1/state/windows/1")) == 1
        assert len(seen.on("hallctl/h1/state/windows/2")) == 2

    # What the broker retains is the current state, Chinese text as UTF-8 JSON.
    async with subscribed(broker.url, "hallctl/h1/state/#") as late:
        await late.wait_until(lambda: len(late.messages) == 2)
        assert json.loads(late.last("hallctl/h1/state/windows/2") or b"")["status"] == "open"
        assert "2号窗口".encode() in (late.last("hallctl/h1/state/windows/2") or b"")
        assert late.on("hallctl/h1/state/services/BDC") == []


async def test_state_changes_are_coalesced_to_the_interval(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    engine.state = {"state/calls": {"calls": []}}
    settings = settings_for(broker.url, state_interval_ms=400)
    async with subscribed(broker.url, "hallctl/h1/state/calls") as seen, \
            running_link(engine, settings):
        await seen.wait_until(lambda: len(seen.messages) == 1)
        for n in range(20):  # 20 changes within ~200 ms
            engine.state["state/calls"] = {"calls": [{"ticket": f"A{n:03d}"}]}
            await engine.append("ticket.called")
            await asyncio.sleep(0.01)
        await seen.wait_until(
            lambda: json.loads(seen.last("hallctl/h1/state/calls") or b"{}")
            == {"calls": [{"ticket": "A019"}]}
        )
        assert len(seen.messages) <= 4  # initial + at most one per 400 ms window


async def test_after_a_broker_restart_state_is_republished_and_requests_work_again(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    engine.state = {"state/windows/5": {"window": 5, "status": "open"}}
    async with running_link(engine, settings_for(broker.url)) as link:
        # The broker has no persistence: a restart forgets every retained message.
        await broker.arestart()
        await asyncio.wait_for(_reconnected(link, connects=2), 15)
        async with subscribed(broker.url, "hallctl/h1/#") as seen:
            await seen.wait_until(
                lambda: seen.last("hallctl/h1/state/windows/5") is not None
                and seen.last("hallctl/h1/status") == b"online"
            )
        async with requester(broker.url, "hallctl/h1") as backend:
            answer = await backend.call("open_window", {"window": 7})
        assert answer["ok"] is True
        assert answer["result"]["window"] == 7


async def _reconnected(link: MqttLink, connects: int) -> None:
    while not (link.stats.connects >= connects and link.online):  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def test_the_link_keeps_retrying_while_the_broker_is_down_and_never_gives_up(
    broker: Mosquitto, journal: Journal
) -> None:
    engine = StandInEngine(journal)
    await broker.astop()
    link = MqttLink(engine, settings_for(broker.url, reconnect_max_s=0.2))
    async with link:
        await asyncio.sleep(1.0)
        assert not link.online
        assert link.stats.failures >= 3  # refused again and again, still trying
        await broker.astart()
        await asyncio.wait_for(link.wait_online(), 10)


async def test_connects_with_tls_and_a_password_from_the_environment(
    mosquitto_factory: object, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker: Mosquitto = mosquitto_factory(  # type: ignore[operator]
        tls=True, password_users={"hall": "s3cret-密码"}
    )
    assert broker.url.startswith("mqtts://") and broker.ca_path is not None
    monkeypatch.setenv("HALL_MQTT_PASSWORD", "s3cret-密码")
    settings = settings_for(
        broker.url, username="hall", password_env="HALL_MQTT_PASSWORD",
        tls={"ca_file": str(broker.ca_path)},
    )
    engine = StandInEngine(journal)
    async with running_link(engine, settings):
        await engine.append("ticket.issued")
        await asyncio.sleep(0.2)
    assert "as hallctl-h1 (p5, c1, k5, u'hall')" in broker.log_text()


async def test_a_wrong_password_is_retried_with_backoff_not_fatal(
    mosquitto_factory: object, journal: Journal, tmp_path: Path
) -> None:
    broker: Mosquitto = mosquitto_factory(password_users={"hall": "right"})  # type: ignore[operator]
    secret = tmp_path / "mqtt.pw"
    secret.write_text("wrong\n")
    settings = settings_for(broker.url, username="hall", password_file=str(secret))
    link = MqttLink(StandInEngine(journal), settings)
    async with link:
        await asyncio.sleep(0.8)
        assert not link.online
        assert link.stats.failures >= 2
        assert link.stats.last_error is not None
        # The password file is read at every connect: fixing it is enough, no restart.
        secret.write_text("right\n")
        await asyncio.wait_for(link.wait_online(), 10)


async def test_tls_refuses_a_broker_signed_by_an_unknown_ca(
    mosquitto_factory: object, journal: Journal
) -> None:
    broker: Mosquitto = mosquitto_factory(tls=True)  # type: ignore[operator]
    link = MqttLink(StandInEngine(journal), settings_for(broker.url))  # system CAs only
    async with link:
        await asyncio.sleep(0.5)
        assert not link.online
        assert "CERTIFICATE_VERIFY_FAILED" in (link.stats.last_error or "")
