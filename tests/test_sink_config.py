"""The `sinks:` list of the hall file, the sinks component in the daemon's composition (its
cursors hold back retention), and sink health on the retained `state/sinks/<name>` topic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from hallctl.config import ConfigError
from hallctl.forward.config import read_secret
from hallctl.mqtt.link import MqttLink
from hallctl.wiring import compose, cursors
from tests.sinks_support import hall_config, issue, running_engine, sinks_running
from tests.test_mqtt_support import client_for, settings_for
from tests.test_sink_haochaping import SAMPLE

HOOK = "{name: %s, type: webhook, url: 'http://127.0.0.1:1/x', secret_env: HOOK_SECRET}"


def sinks(*entries: str) -> str:
    return "sinks:\n" + "".join(f"  - {e}\n" for e in entries)


def problem(tmp: Path, extra: str) -> str:
    with pytest.raises(ConfigError) as info:
        hall_config(tmp, extra)
    return str(info.value)


def test_a_hall_file_lists_sinks_of_every_type(tmp_path: Path) -> None:
    config = hall_config(tmp_path, sinks(
        HOOK % "hook",
        "{name: db, type: postgresql, dsn: 'postgresql://hall@db:5432/city', "
        "password_file: /etc/hallctl/pg, exclude_events: ['staff.*'], drop_fields: [id_hash]}",
        "{name: js, type: nats, servers: ['nats://a:4222', 'nats://b:4222'], start: today}",
        f"{{name: hcp, type: haochaping, url: 'https://hcp.example/up', mapping: '{SAMPLE}', "
        "region_code: '610113', department_code: D1}",
    ))
    assert [s.type for s in config.sinks] == ["webhook", "postgresql", "nats", "haochaping"]
    db = config.sinks[1]
    assert db.cursor == "sink:db" and not db.wants("staff.checked_in") and db.wants("ticket.issued")
    assert config.sinks[3].events == ["evaluation.recorded"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ((HOOK % "a", HOOK % "a"), "sink names must be unique: a"),
        ((HOOK % "mqtt",), "the sink name mqtt is the MQTT link's forwarder"),
        (("{name: a, type: webhook, url: 'http://x/'}",), "exactly one of secret_env"),
        (("{name: a, type: webhook, url: 'ftp://x/', secret_env: S}",), "http://"),
        ((HOOK.replace("}", ", start: yesterday}") % "a",), "start is now, today"),
        (("{name: a, type: postgresql, dsn: 'postgresql://u:pw@h/db'}",), "no password in the dsn"),
        (("{name: a, type: kafka}",), "type"),
        ((HOOK.replace("}", ", retry_min_s: 9, retry_max_s: 1}") % "a",), "retry_min_s"),
    ],
)
def test_a_bad_sink_is_a_clear_error(
    tmp_path: Path, entries: tuple[str, ...], message: str
) -> None:
    assert message in problem(tmp_path, sinks(*entries))


def test_secrets_come_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S1", "from-env")
    (tmp_path / "secret").write_text("from-file\n")
    assert read_secret("S1", None, "x") == "from-env"
    assert read_secret(None, tmp_path / "secret", "x") == "from-file"
    monkeypatch.delenv("S1")
    with pytest.raises(ValueError, match="S1 is not set"):
        read_secret("S1", None, "sinks.a")


async def test_the_daemon_runs_the_sinks_and_retention_respects_their_cursors(
    tmp_path: Path,
) -> None:
    extra = "mqtt: {url: 'mqtt://127.0.0.1:1'}\n" + sinks(HOOK % "a", HOOK % "b")
    async with running_engine(tmp_path, extra) as engine:
        components = compose(engine.config, engine)
        assert "sinks" in [c.name for c in components]
        assert cursors(components) == ["sink:a", "sink:b", "mqtt"]


async def test_sink_health_is_published_retained(
    tmp_path: Path, mosquitto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "x")
    entry = HOOK.replace("}", ", retry_min_s: 0.01, retry_max_s: 0.05, start: beginning}")
    async with running_engine(tmp_path, sinks(entry % "dead")) as engine:
        await issue(engine, 3)
        async with sinks_running(engine) as component:
            settings = settings_for(mosquitto.url)
            async with MqttLink(engine, settings, retained=component.retained_state) as link:
                await asyncio.wait_for(link.wait_online(), 10)
                async with client_for(mosquitto.url) as client:
                    await client.subscribe("hallctl/sys-hall/state/sinks/#", qos=1)
                    async with asyncio.timeout(15):
                        async for message in client.messages:
                            health = json.loads(message.payload)  # type: ignore[arg-type]
                            if health["state"] == "retrying":
                                break
                # a newcomer gets it from the broker's retained store
                async with client_for(mosquitto.url) as late:
                    await late.subscribe("hallctl/sys-hall/state/sinks/#", qos=1)
                    async with asyncio.timeout(5):
                        message = await anext(aiter(late.messages))
    assert str(message.topic) == "hallctl/sys-hall/state/sinks/dead"
    assert message.retain and json.loads(message.payload)["state"] == "retrying"  # type: ignore[arg-type]
    assert health["lag_records"] == 4 and "127.0.0.1:1" in health["last_error"]
