"""The throwaway Mosquitto that every MQTT test stands on: it must really be a broker."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hallctl.broker import BrokerError, Mosquitto, _certificates_with_openssl

MosquittoFactory = Callable[..., Mosquitto]  # the conftest fixture's type


def _client(broker: Mosquitto, *, timeout: float = 5.0, **kwargs: Any) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host, broker.port, identifier=f"t-{uuid.uuid4().hex[:8]}", timeout=timeout, **kwargs
    )


async def _roundtrip(broker: Mosquitto, **kwargs: Any) -> bytes:
    """Subscribe, publish to ourselves at QoS 1, return the payload that came back."""
    topic = f"hallctl/test/{uuid.uuid4().hex}"
    async with _client(broker, **kwargs) as client:
        await client.subscribe(topic, qos=1)
        await client.publish(topic, b"A012", qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                return message.payload
    raise AssertionError("no message")


def _accepts_tcp(broker: Mosquitto) -> bool:
    try:
        with socket.create_connection((broker.host, broker.port), timeout=0.5):
            return True
    except OSError:
        return False


# -- plain ----------------------------------------------------------------------------------------


async def test_plain_broker_carries_messages_on_a_loopback_url(mosquitto: Mosquitto) -> None:
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    assert mosquitto.running
    assert await _roundtrip(mosquitto) == b"A012"


def test_each_broker_gets_its_own_port(mosquitto_factory: MosquittoFactory) -> None:
    first, second = mosquitto_factory(), mosquitto_factory()
    assert first.port != second.port
    assert _accepts_tcp(first) and _accepts_tcp(second)


# -- passwords ------------------------------------------------------------------------------------


async def test_password_broker_admits_the_right_password(
    mosquitto_factory: MosquittoFactory,
) -> None:
    broker = mosquitto_factory(password_users={"hall": "s3cret", "kiosk": "k1"})
    assert await _roundtrip(broker, username="hall", password="s3cret") == b"A012"
    assert await _roundtrip(broker, username="kiosk", password="k1") == b"A012"


@pytest.mark.parametrize(
    "credentials",
    [{"username": "hall", "password": "wrong"}, {"username": "nobody", "password": "s3cret"}, {}],
    ids=["wrong-password", "unknown-user", "anonymous"],
)
async def test_password_broker_rejects_bad_credentials(
    mosquitto_factory: MosquittoFactory, credentials: dict[str, str]
) -> None:
    broker = mosquitto_factory(password_users={"hall": "s3cret"})
    with pytest.raises(aiomqtt.MqttError, match=r"[Nn]ot authori[sz]ed"):
        async with _client(
            broker, username=credentials.get("username"), password=credentials.get("password")
        ):
            pass


# -- TLS ------------------------------------------------------------------------------------------


async def test_tls_broker_is_trusted_through_its_throwaway_ca(
    mosquitto_factory: MosquittoFactory,
) -> None:
    broker = mosquitto_factory(tls=True)
    assert broker.url == f"mqtts://127.0.0.1:{broker.port}"
    assert broker.ca_path is not None and broker.ca_path.is_file()
    # The default context checks the host name, so this also proves the 127.0.0.1 SAN.
    assert await _roundtrip(broker, tls_context=broker.tls_context()) == b"A012"


async def test_tls_broker_is_refused_by_a_client_that_does_not_trust_its_ca(
    mosquitto_factory: MosquittoFactory,
) -> None:
    broker = mosquitto_factory(tls=True)
    with pytest.raises(aiomqtt.MqttError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        async with _client(broker, tls_context=ssl.create_default_context()):
            pass


async def test_tls_broker_does_not_speak_plain_mqtt(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory(tls=True)
    with pytest.raises(aiomqtt.MqttError):
        async with _client(broker, timeout=1.0):
            pass


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
async def test_openssl_fallback_makes_certificates_mosquitto_and_clients_accept(
    mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    # Used when the cryptography package is absent; exercised here whatever is installed.
    ca, cert, key = _certificates_with_openssl(tmp_path)
    broker = mosquitto_factory(extra_config=f"cafile {ca}\ncertfile {cert}\nkeyfile {key}")
    context = ssl.create_default_context(cafile=str(ca))
    assert await _roundtrip(broker, tls_context=context) == b"A012"


# -- ACL ------------------------------------------------------------------------------------------


async def test_acl_file_limits_what_a_user_may_publish(
    mosquitto_factory: MosquittoFactory,
) -> None:
    broker = mosquitto_factory(
        password_users={"backend": "b", "kiosk": "k"},
        acl_file="user backend\ntopic readwrite #\n\nuser kiosk\ntopic write hall/kiosk/#\n",
    )
    async with _client(broker, username="backend", password="b") as backend:
        await backend.subscribe("hall/#", qos=1)
        async with _client(broker, username="kiosk", password="k") as kiosk:
            await kiosk.publish("hall/admin/reset", b"denied", qos=1)
            await kiosk.publish("hall/kiosk/1", b"allowed", qos=1)
        async with asyncio.timeout(5):
            message = await anext(aiter(backend.messages))
    # Messages from one client arrive in order, so the denied one would have come first.
    assert (str(message.topic), message.payload) == ("hall/kiosk/1", b"allowed")


# -- outages --------------------------------------------------------------------------------------


async def test_restart_comes_back_on_the_same_port(mosquitto: Mosquitto) -> None:
    port, url = mosquitto.port, mosquitto.url
    mosquitto.stop()
    assert not mosquitto.running
    assert not _accepts_tcp(mosquitto)
    with pytest.raises(aiomqtt.MqttError):
        async with _client(mosquitto):
            pass

    mosquitto.start()
    assert (mosquitto.port, mosquitto.url) == (port, url)
    assert await _roundtrip(mosquitto) == b"A012"


async def test_restart_forgets_retained_messages(mosquitto: Mosquitto) -> None:
    # Persistence is off on purpose: after an outage the daemon must republish retained state,
    # and tests must be able to see whether it did.
    async with _client(mosquitto) as client:
        await client.publish("hallctl/h1/status", b"online", qos=1, retain=True)
    await mosquitto.arestart()
    async with _client(mosquitto) as client:
        await client.subscribe("hallctl/h1/status", qos=1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await anext(aiter(client.messages))


async def test_connected_client_sees_the_outage(mosquitto: Mosquitto) -> None:
    async with _client(mosquitto) as client:
        await mosquitto.akill()
        with pytest.raises(aiomqtt.MqttError):
            async with asyncio.timeout(5):
                await client.publish("t", b"x", qos=1)
                await anext(aiter(client.messages))
    await mosquitto.astart()
    assert await _roundtrip(mosquitto) == b"A012"


async def test_async_context_manager_runs_and_cleans_up() -> None:
    async with Mosquitto() as broker:
        workdir = broker.workdir
        assert await _roundtrip(broker) == b"A012"
    assert not broker.running
    assert not _accepts_tcp(broker)
    assert not workdir.exists()


def test_sync_context_manager_runs_and_cleans_up() -> None:
    with Mosquitto() as broker:
        pid, workdir = broker.pid, broker.workdir
        assert pid is not None and _accepts_tcp(broker)
    assert broker.pid is None and not workdir.exists()
    with pytest.raises(BrokerError, match="closed"):
        broker.start()


# -- failures are explained -----------------------------------------------------------------------


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        broker = Mosquitto(port=squatter.getsockname()[1])
        with pytest.raises(BrokerError, match="already in use"):
            broker.start()
        broker.close()


def test_a_missing_binary_is_a_clear_error() -> None:
    with (
        pytest.raises(BrokerError, match="cannot run /nonexistent/mosquitto"),
        Mosquitto(binary="/nonexistent/mosquitto"),
    ):
        pass


def test_a_bad_config_shows_mosquitto_s_own_words() -> None:
    with (
        pytest.raises(BrokerError, match="exited with code") as failure,
        Mosquitto(extra_config="no_such_option 1"),
    ):
        pass
    assert "no_such_option" in str(failure.value)


def test_a_port_taken_before_the_first_start_is_traded_for_a_free_one() -> None:
    # The free port is picked when the object is made; someone may grab it before start().
    broker = Mosquitto()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", broker.port))
        squatter.listen()
        try:
            broker.start()
            assert broker.port != squatter.getsockname()[1]
            assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
            assert _accepts_tcp(broker)
        finally:
            broker.close()
