"""The broker link: one MQTT 5 connection kept alive for the daemon's lifetime.

Each connection goes through the same steps, so a reconnect restores everything:

1. connect with last will `<base>/status` = `offline` (retained, QoS 1);
2. subscribe `<base>/request/+` (clean session: requests sent while we were away are not
   executed late; a kiosk's ticket request from an hour ago must not print now);
3. republish every retained state topic from `engine.retained_state()` (the broker may have
   restarted without persistence and lost them), clearing topics that no longer exist;
4. publish `<base>/status` = `online` (retained): whoever sees `online` can send requests and
   finds current state;
5. run, until the connection fails or `stop()`: the request receiver and the retained state
   follower (changes only, at most every `state_interval_ms`).

Journal events are not forwarded here: the MQTT sink (forward/mqtt_sink.py) publishes them on
a connection of its own, run by the generic sink forwarder with the other back ends.

A failure at any step ends the connection and the loop retries with exponential backoff; the
loop never ends on errors. `stop()` ends it gracefully: requests in hand are answered,
`offline` is published retained, and the client disconnects cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

import aiomqtt
import structlog
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hallctl.mqtt.requests import Reply, RequestEngine, RequestHandler
from hallctl.mqtt.settings import MqttSettings
from hallctl.mqtt.topics import Topics

MessageHandler = Callable[[str, bytes], Awaitable[None]]
# Takes a request message and answers it later through the Reply (kiosks); must not wait:
# it owns the work it starts, like RequestHandler.submit.
Responder = Callable[[aiomqtt.Message, Reply], None]

log = structlog.get_logger(__name__)

CONNECT_TIMEOUT_S = 10.0  # CONNACK, SUBACK and PUBACK of the setup steps
STOP_DRAIN_S = 5.0  # how long stop() waits for requests in hand to be answered
STABLE_AFTER_S = 10.0  # a connection up this long resets the backoff to reconnect_min_s
PROBE_EVERY_S = 0.5  # while waiting to reconnect: is the broker's port answering again?
UNJOURNALED_STATE_S = 2.0  # retained state is compared this often even without new records
EXTRA_REFRESH_S = 5.0  # extra retained state (sink health) is re-read at least this often


class LinkEngine(RequestEngine, Protocol):
    """The part of `HallEngine` the link uses."""

    @property
    def hall_id(self) -> str: ...
    async def wait_beyond(self, seq: int) -> int: ...
    def last_seq(self) -> int: ...
    def retained_state(self) -> dict[str, dict[str, Any]]: ...


def _payload(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class RetainedState:
    """Keeps the broker's retained state topics equal to `engine.retained_state()`."""

    def __init__(
        self,
        engine: LinkEngine,
        topics: Topics,
        interval_s: float,
        extra: Callable[[], dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        self._engine = engine
        # state that is not the hall's (sink health): merged in, and polled every few seconds
        # because it changes without a journal record
        self._extra = extra
        self._topics = topics
        self._interval_s = interval_s
        # What the broker holds from us, as far as we know (key -> payload).
        self._published: dict[str, bytes] = {}

    def _snapshot(self) -> tuple[int, dict[str, bytes]]:
        # last_seq first: the state read right after reflects at least that seq, so waiting
        # beyond it cannot miss a change.
        seq = self._engine.last_seq()
        state = self._engine.retained_state()
        if self._extra is not None:
            state = state | self._extra()
        return seq, {key: _payload(v) for key, v in state.items()}

    async def publish_all(self, client: aiomqtt.Client) -> int:
        """Publish every topic (after a reconnect); returns the seq the state reflects."""
        seq, current = self._snapshot()
        gone = {key: b"" for key in self._published.keys() - current.keys()}
        await self._publish(client, current | gone)
        self._published = current
        log.info("mqtt.state_republished", topics=len(current), cleared=len(gone))
        return seq

    async def follow(self, client: aiomqtt.Client, seq: int) -> None:
        """Publish what changed after each new journal record, at most every interval."""
        while True:
            # Also look now and then without a new record: some state is not journaled (a
            # full disk's alarm, which cannot be; the sinks' health, re-read at least every
            # EXTRA_REFRESH_S).
            wait = UNJOURNALED_STATE_S if self._extra is None else min(
                UNJOURNALED_STATE_S, EXTRA_REFRESH_S)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._engine.wait_beyond(seq)
            seq, current = self._snapshot()
            changes = {k: v for k, v in current.items() if self._published.get(k) != v}
            # An empty retained message deletes the topic on the broker.
            changes |= {key: b"" for key in self._published.keys() - current.keys()}
            if changes:
                await self._publish(client, changes)
                self._published = current
            await asyncio.sleep(self._interval_s)

    async def _publish(self, client: aiomqtt.Client, payloads: dict[str, bytes]) -> None:
        async with asyncio.TaskGroup() as tg:
            for key, payload in payloads.items():
                tg.create_task(
                    client.publish(self._topics.retained(key), payload, qos=1, retain=True)
                )


@dataclass(slots=True)
class LinkStats:
    connects: int = 0  # connections that reached `online`
    failures: int = 0  # attempts or connections that ended with an error
    last_error: str | None = None


class _Stopping(Exception):
    """Raised inside the session task group to end it when stop() is called."""


class MqttLink:
    """Run with `async with MqttLink(engine, settings):` or `await link.run()` + `link.stop()`."""

    def __init__(
        self,
        engine: LinkEngine,
        settings: MqttSettings,
        extra: Sequence[tuple[str, MessageHandler]] = (),
        responders: Sequence[tuple[str, Responder]] = (),
        retained: Callable[[], dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        # other topics the hall listens to (face terminals, kiosks), restored on every connect
        self._extra = list(extra)
        # other request endpoints, answered like `<base>/request/+` (kiosks)
        self._responders = list(responders)
        self.topics = Topics(settings.topic_base(engine.hall_id))
        self.client_id = settings.client_id_for(engine.hall_id)
        self.requests = RequestHandler(
            engine,
            self.topics,
            concurrency=settings.request_concurrency,
            backlog=settings.request_backlog,
            response_topics=settings.response_topics,
        )
        self._state = RetainedState(
            engine, self.topics, settings.state_interval_ms / 1000, extra=retained
        )
        self._stop = asyncio.Event()
        self._online = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._broker = f"{settings.host}:{settings.port}"
        self.stats = LinkStats()

    # -- lifetime --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name="mqtt-link")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._task is not None:
            await self._task

    def stop(self) -> None:
        """Ask the link to go offline gracefully; `run()` returns when it has."""
        self._stop.set()

    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def wait_online(self) -> None:
        await self._online.wait()

    async def run(self) -> None:
        """Connect, reconnect with backoff, until stop(). Errors never end it."""
        s = self._settings
        delay = s.reconnect_min_s
        try:
            while not self._stop.is_set():
                started = asyncio.get_running_loop().time()
                try:
                    await self._connection()
                except Exception as exc:
                    self.stats.failures += 1
                    self.stats.last_error = _describe(exc)
                    log.warning("mqtt.disconnected", broker=self._broker,
                                error=self.stats.last_error)
                if self._stop.is_set():
                    break
                if asyncio.get_running_loop().time() - started >= STABLE_AFTER_S:
                    delay = s.reconnect_min_s
                # Jitter: halls restarted together by a power cut must not reconnect in step.
                wait = delay * random.uniform(0.8, 1.2)
                log.info("mqtt.reconnect_wait", broker=self._broker, seconds=round(wait, 2))
                await self._wait_to_retry(wait)
                delay = min(delay * 2, s.reconnect_max_s)
        finally:
            await self.requests.aclose()

    async def _sleep_unless_stopped(self, seconds: float) -> bool:
        """False when stop() was called meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
            return False
        return True

    async def _wait_to_retry(self, seconds: float) -> None:
        """Wait out the backoff, but retry at once when the broker's port starts answering.

        After a long outage the backoff is at its cap; without probing, a broker back a moment
        after an attempt waited out the whole cap. A cheap TCP probe every PROBE_EVERY_S ends
        the wait when the port goes from silent to answering. A port that answers from the
        start (a wrong password, a TLS problem) does not end it: those keep their backoff.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        silent = False
        while (left := deadline - loop.time()) > 0:
            if not await self._sleep_unless_stopped(min(PROBE_EVERY_S, left)):
                return
            if loop.time() >= deadline:
                return
            if await self._port_answers():
                if silent:
                    log.info("mqtt.broker_answers", broker=self._broker)
                    return
            else:
                silent = True

    async def _port_answers(self) -> bool:
        s = self._settings
        try:
            async with asyncio.timeout(PROBE_EVERY_S):
                _, writer = await asyncio.open_connection(s.host, s.port)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    # -- one connection --------------------------------------------------------------------

    async def _connection(self) -> None:
        client = await self._make_client()
        async with client:
            log.info("mqtt.connected", broker=self._broker, client_id=self.client_id)
            try:
                await self._session(client)
                # Graceful stop: answers to requests in hand still go out on this connection.
                await self.requests.drain(STOP_DRAIN_S)
            finally:
                self._online.clear()
                self._client = None
                await self._say_offline(client)
        log.info("mqtt.disconnected_cleanly", broker=self._broker)

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe(
            self.topics.request_filter,
            options=SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND),
        )
        for topic_filter, _ in self._extra:
            await client.subscribe(topic_filter, qos=1)
        for topic_filter, _ in self._responders:
            await client.subscribe(
                topic_filter,
                options=SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND),
            )
        seq = await self._state.publish_all(client)
        await client.publish(self.topics.status, b"online", qos=1, retain=True)
        self._client = client
        self._online.set()
        self.stats.connects += 1
        log.info("mqtt.online", broker=self._broker, base=self.topics.base)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._receive(client, tg))
                tg.create_task(self._state.follow(client, seq))
                tg.create_task(self._until_stopped())
        except* _Stopping:
            pass

    async def _until_stopped(self) -> None:
        await self._stop.wait()
        raise _Stopping

    async def _receive(self, client: aiomqtt.Client, tg: asyncio.TaskGroup) -> None:
        # Raises MqttError when the connection drops: that is what ends the session's tasks.
        async for message in client.messages:
            responder = next(
                (r for f, r in self._responders if message.topic.matches(f)), None
            )
            if responder is not None:
                responder(message, self._reply)
                continue
            for topic_filter, handler in self._extra:
                if message.topic.matches(topic_filter):
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    tg.create_task(_handle(handler, str(message.topic), payload))
                    break
            else:
                self.requests.submit(message, self._reply)

    async def _reply(self, topic: str, payload: bytes, properties: Properties) -> None:
        # The current connection, not the one the request came in on: an answer finished
        # after a reconnect still reaches the requester.
        client = self._client
        if client is None:
            raise aiomqtt.MqttError("not connected")
        await client.publish(topic, payload, qos=1, retain=False, properties=properties)

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        # A clean DISCONNECT suppresses the last will, so say it ourselves. On a dead
        # connection this fails at once, and the broker publishes the will instead.
        try:
            await client.publish(self.topics.status, b"offline", qos=1, retain=True, timeout=2)
        except aiomqtt.MqttError:
            return
        log.info("mqtt.offline_published", broker=self._broker)

    async def _make_client(self) -> aiomqtt.Client:
        s = self._settings
        # File reads (password file, certificates) off the event loop.
        password = await asyncio.to_thread(s.password)
        tls_context = await asyncio.to_thread(s.ssl_context)
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=password,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            will=aiomqtt.Will(self.topics.status, b"offline", qos=1, retain=True),
            clean_start=True,
            keepalive=s.keepalive,
            tls_context=tls_context,
            timeout=CONNECT_TIMEOUT_S,
            # Without it Nagle holds a small answer until the PUBACK it follows is ACKed:
            # +40 ms (delayed ACK) on every request/response round trip (bench_kiosk.py).
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        # aiomqtt warns on every call beyond 10 awaiting the broker; answers in hand and a
        # republish of every retained topic are more by design: warn only beyond those.
        client.pending_calls_threshold = s.request_concurrency + s.request_backlog + 1000
        return client


async def _handle(handler: MessageHandler, topic: str, payload: bytes) -> None:
    """A failing handler is logged; it never ends the session."""
    try:
        await handler(topic, payload)
    except Exception:
        log.exception("mqtt.handler_failed", topic=topic)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"
