"""A kiosk simulator: an MQTT 5 client that asks the hall and waits for the matching answer.

    async with KioskSim("mqtt://127.0.0.1:1883", "hallctl/xa-zwfw", "K1") as kiosk:
        answer = await kiosk.request("take_ticket", {"service": "BDC"})

Each request carries a Response Topic under the kiosk's own tree
(`<base>/kiosk/<id>/response/<session>`, which the Mosquitto ACL in docs/kiosks.md grants)
and fresh Correlation Data; answers are matched by correlation data, so many requests can be
in flight at once. Pass the same `correlation` again to retry a request idempotently.
Used by the tests, bench/bench_kiosk.py and the demo hall.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class KioskSim:
    def __init__(
        self,
        url: str,
        base_topic: str,
        kiosk_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.hostname is None:
            raise ValueError(f"no host in {url!r}")
        self.kiosk_id = kiosk_id
        self.base = base_topic
        self.timeout_s = timeout_s
        session = uuid.uuid4().hex[:12]
        self.response_topic = f"{base_topic}/kiosk/{kiosk_id}/response/{session}"
        self._client = aiomqtt.Client(
            parts.hostname,
            parts.port or 1883,
            username=username,
            password=password,
            identifier=f"kiosk-{kiosk_id}-{session}",
            protocol=aiomqtt.ProtocolVersion.V5,
            # A request is one small packet after another: Nagle would hold it ~40 ms.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        self._waiting: dict[bytes, asyncio.Future[dict[str, Any]]] = {}
        self._pump: asyncio.Task[None] | None = None
        self.connection_error: aiomqtt.MqttError | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        await self._client.subscribe(self.response_topic, qos=1)
        self._pump = asyncio.create_task(self._receive(), name=f"kiosk-sim-{self.kiosk_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self._client.__aexit__(exc_type, exc, tb)

    @property
    def client(self) -> aiomqtt.Client:
        """The underlying connection (tests use it to publish where a kiosk should not)."""
        return self._client

    def topic(self, action: str, kiosk_id: str | None = None) -> str:
        return f"{self.base}/kiosk/{kiosk_id or self.kiosk_id}/request/{action}"

    async def request(
        self,
        action: str,
        fields: dict[str, Any] | bytes | None = None,
        *,
        correlation: bytes | None = None,
        topic: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Publish one request and return its answer; TimeoutError when none comes."""
        if self.connection_error is not None:
            raise self.connection_error
        correlation = correlation or uuid.uuid4().bytes
        future = self._waiting.get(correlation)
        if future is None or future.done():
            future = self._waiting[correlation] = asyncio.get_running_loop().create_future()
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = self.response_topic
        props.CorrelationData = correlation
        props.ContentType = "application/json"
        body = fields if isinstance(fields, bytes) else json.dumps(
            fields or {}, ensure_ascii=False
        ).encode()
        await self._client.publish(
            topic or self.topic(action), body, qos=1, properties=props
        )
        try:
            async with asyncio.timeout(timeout_s if timeout_s is not None else self.timeout_s):
                return await asyncio.shield(future)
        finally:
            if future.done():
                self._waiting.pop(correlation, None)

    async def _receive(self) -> None:
        try:
            async for message in self._client.messages:
                correlation = getattr(message.properties, "CorrelationData", None)
                future = self._waiting.get(correlation) if correlation is not None else None
                if future is None or future.done():
                    continue  # a late answer to a request given up on
                payload = message.payload if isinstance(message.payload, bytes) else b"{}"
                future.set_result(json.loads(payload))
        except aiomqtt.MqttError as exc:
            # The broker may end the session (e.g. after a publish its ACL denies): whoever
            # waits learns it now instead of at their time-out.
            self.connection_error = exc
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(exc)
