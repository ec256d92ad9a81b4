"""After a long broker outage the link is back within about a second of the broker.

The backoff was capped at 30 s with jitter: a broker back just after an attempt waited up to
36 s. Now the link probes the broker's port while it waits and retries as soon as it answers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hallctl.broker import Mosquitto
from hallctl.journal import Journal
from hallctl.mqtt.link import MqttLink
from hallctl.mqtt.settings import MqttSettings
from tests.test_mqtt_support import BROKER_OPTIONS, StandInEngine, settings_for


@pytest.fixture
def broker(mosquitto_factory: Any) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[no-any-return]


async def test_a_broker_back_mid_backoff_is_reconnected_at_once(
    broker: Mosquitto, tmp_path: Path
) -> None:
    await broker.astop()
    # The backoff is already long (as after a long outage): 20 s before the next attempt.
    settings = settings_for(broker.url, reconnect_min_s=20, reconnect_max_s=30)
    with Journal(tmp_path / "journal.db") as journal:
        async with MqttLink(StandInEngine(journal), settings) as link:
            while link.stats.failures < 1:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.7)  # a probe or so finds the port silent
            await broker.astart()
            loop = asyncio.get_running_loop()
            back = loop.time()
            await asyncio.wait_for(link.wait_online(), 5)
            assert loop.time() - back < 3
            assert link.stats.failures == 1  # one attempt, then straight back


async def test_a_broker_that_answers_but_refuses_keeps_its_backoff(
    mosquitto_factory: Any, tmp_path: Path
) -> None:
    broker: Mosquitto = mosquitto_factory(password_users={"hall": "right"})
    secret = tmp_path / "mqtt.pw"
    secret.write_text("wrong\n")
    settings = settings_for(broker.url, username="hall", password_file=str(secret),
                            reconnect_min_s=1.5, reconnect_max_s=1.5)
    with Journal(tmp_path / "journal.db") as journal:
        async with MqttLink(StandInEngine(journal), settings) as link:
            await asyncio.sleep(2.0)
            assert link.stats.failures <= 2  # not hammered by "the port answers"


def test_the_default_backoff_cap_is_short() -> None:
    assert MqttSettings().reconnect_max_s <= 10
