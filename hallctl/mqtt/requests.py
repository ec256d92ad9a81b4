"""Requests over MQTT 5: `<base>/request/<action>` in, a response on the request's response topic.

The payload is a JSON object with the action's fields (see docs/architecture.md); the action is
the last topic level. The answer is the engine's own response (`{"ok": true, "result": …}` or
`{"ok": false, "error": {…}}`), published QoS 1 to the request's Response Topic with its
Correlation Data echoed.

Bad input is answered and changes nothing: a payload that is not JSON, not an object, names a
different action than its topic, or a topic that cannot be an action. A request without a
response topic is not executed (nobody could learn whether it worked, and a command whose
outcome is unknowable is worse than none); it is logged and counted.

Idempotency: MQTT may deliver a QoS 1 request twice. When the payload carries no `request_id`,
one is derived from the response topic and correlation data, so a redelivered request returns
the first answer and changes nothing.

Requests run concurrently but bounded; the receive loop never waits for a slot, so neither a
slow request nor a flood of them stalls the connection or event forwarding. Beyond the backlog,
requests are answered `busy` at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hallctl import json_input
from hallctl.hall.commands import INTERNAL
from hallctl.mqtt.topics import Topics

log = structlog.get_logger(__name__)


class RequestEngine(Protocol):
    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]: ...


# (topic, payload, properties) -> published (PUBACK in); raises aiomqtt.MqttError when offline
Reply = Callable[[str, bytes, Properties], Awaitable[None]]

# Errors this layer produces itself; everything else comes from the engine.
ERRORS: dict[str, tuple[str, str]] = {
    "bad_json": ("payload is not UTF-8 JSON", "请求内容不是有效的 UTF-8 JSON"),
    "bad_request": (
        "payload must be a JSON object of the action's fields",
        "请求内容必须是包含操作字段的 JSON 对象",
    ),
    "action_mismatch": (
        "payload `action` differs from the topic's action",
        "请求内容中的 action 与主题中的操作不一致",
    ),
    "unknown_action": ("no such action", "未知的操作"),
    "forbidden": ("the daemon's own action; not for MQTT requests", "该操作仅限系统内部使用"),
    "busy": (
        "too many requests waiting; retry later with the same request_id",
        "请求过多，请稍后使用相同的 request_id 重试",
    ),
    "internal": (
        "internal error; retry with the same request_id",
        "内部错误，请使用相同的 request_id 重试",
    ),
}


def reply_message(response: dict[str, Any], correlation: bytes | None) -> tuple[bytes, Properties]:
    """The body and MQTT 5 properties of an answer: JSON, with the request's correlation data."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ContentType = "application/json"
    if correlation is not None:
        props.CorrelationData = correlation
    return json.dumps(response, ensure_ascii=False, separators=(",", ":")).encode(), props


def error_response(code: str, detail: str | None = None) -> dict[str, Any]:
    message, message_zh = ERRORS[code]
    if detail:
        message = f"{message}: {detail}"
    return {"ok": False, "error": {"code": code, "message": message, "message_zh": message_zh}}


def derived_request_id(response_topic: str, correlation: bytes) -> str:
    """Stable id for a request without `request_id`: same requester + correlation, same id.

    The response topic is part of the key so two requesters that both count their
    correlation data from 1 do not answer each other's requests from the idempotency cache.
    """
    digest = hashlib.sha256(response_topic.encode() + b"\0" + correlation).hexdigest()
    return f"mqtt-{digest[:32]}"


@dataclass(frozen=True, slots=True)
class ReplyTo:
    topic: str
    correlation: bytes | None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A request message, understood: either a request to execute or an error to send."""

    reply_to: ReplyTo | None
    request: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def parse_request(topics: Topics, message: aiomqtt.Message) -> Parsed:
    props = message.properties
    response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
    correlation = getattr(props, "CorrelationData", None) if props is not None else None
    reply_to = ReplyTo(response_topic, correlation) if response_topic else None

    action = topics.action_of(message.topic.value)
    if action is None:
        return Parsed(reply_to, error=error_response("unknown_action", message.topic.value))
    payload = message.payload if isinstance(message.payload, bytes) else b""
    try:
        body = json_input.loads(payload) if payload.strip() else {}
    except json_input.JsonInputError as exc:
        return Parsed(reply_to, error=error_response("bad_json", str(exc)))
    if not isinstance(body, dict):
        return Parsed(reply_to, error=error_response("bad_request", type(body).__name__))
    # The topic is authoritative: broker ACLs are granted per topic, so a payload must not
    # be able to turn a permitted `status` into a `close_window`.
    if "action" in body and body["action"] != action:
        return Parsed(reply_to, error=error_response("action_mismatch", repr(body["action"])))
    if action in INTERNAL:
        return Parsed(reply_to, error=error_response("forbidden", action))
    request = {**body, "action": action}
    if "request_id" not in request and reply_to is not None and reply_to.correlation:
        request["request_id"] = derived_request_id(reply_to.topic, reply_to.correlation)
    return Parsed(reply_to, request=request)


@dataclass(slots=True)
class RequestStats:
    received: int = 0
    answered: int = 0
    rejected: int = 0  # bad input answered with an error by this layer
    no_response_topic: int = 0  # dropped: nobody to answer
    response_topic_refused: int = 0  # dropped: the answer would go outside response_topics
    busy: int = 0
    internal_errors: int = 0
    lost_responses: int = 0  # executed, but the answer could not be published


class RequestHandler:
    def __init__(
        self,
        engine: RequestEngine,
        topics: Topics,
        *,
        concurrency: int = 8,
        backlog: int = 256,
        response_topics: Sequence[str] = ("backend/responses/#",),
    ) -> None:
        self._engine = engine
        self._topics = topics
        self._response_topics = list(response_topics)
        self._slots = asyncio.Semaphore(concurrency)
        self._limit = concurrency + backlog
        self._pending = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = RequestStats()

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, message: aiomqtt.Message, reply: Reply) -> None:
        """Take one request message; never waits. The work runs as a task owned here."""
        self.stats.received += 1
        parsed = parse_request(self._topics, message)
        if parsed.reply_to is None:
            self.stats.no_response_topic += 1
            log.warning("mqtt.request_without_response_topic", topic=message.topic.value)
            return
        if not self._topics.backend_reply_allowed(parsed.reply_to.topic, self._response_topics):
            # Not executed either: an answer nobody may receive is an unknowable outcome.
            self.stats.response_topic_refused += 1
            log.warning("mqtt.response_topic_refused", topic=message.topic.value,
                        response_topic=parsed.reply_to.topic[:200])
            return
        if parsed.request is None:
            assert parsed.error is not None
            self.stats.rejected += 1
            log.info(
                "mqtt.request_rejected",
                topic=message.topic.value,
                code=parsed.error["error"]["code"],
            )
            self._spawn(self._answer(parsed.reply_to, parsed.error, reply))
            return
        if self._pending >= self._limit:
            self.stats.busy += 1
            log.warning("mqtt.request_busy", topic=message.topic.value, pending=self._pending)
            self._spawn(self._answer(parsed.reply_to, error_response("busy"), reply))
            return
        self._pending += 1
        self._spawn(self._execute(parsed.request, parsed.reply_to, reply))

    async def drain(self, within_s: float) -> None:
        """Wait (up to `within_s` seconds) for requests in hand to be executed and answered."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within_s)

    async def aclose(self) -> None:
        """Cancel what is left (shutdown). An execute cut short here is retried by its
        requester with the same request_id, which the engine answers idempotently."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        # Keep a reference: the event loop holds tasks only weakly.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, request: dict[str, Any], reply_to: ReplyTo, reply: Reply) -> None:
        try:
            async with self._slots:
                try:
                    response = await self._engine.execute(request)
                except Exception:
                    # execute() promises not to raise on bad input, so this is a bug; answer
                    # anyway so the requester does not wait for a timeout.
                    self.stats.internal_errors += 1
                    log.exception("mqtt.request_failed", action=request.get("action"))
                    response = error_response("internal")
        finally:
            self._pending -= 1
        await self._answer(reply_to, response, reply)

    async def _answer(self, reply_to: ReplyTo, response: dict[str, Any], reply: Reply) -> None:
        payload, props = reply_message(response, reply_to.correlation)
        try:
            await reply(reply_to.topic, payload, props)
        except (aiomqtt.MqttError, ValueError) as exc:
            # ValueError: paho refuses a response topic with wildcards. MqttError: offline.
            # The request took effect (or not) durably; the requester retries with the same
            # request_id / correlation data and gets the same answer.
            self.stats.lost_responses += 1
            log.warning("mqtt.response_lost", topic=reply_to.topic, error=str(exc))
            return
        self.stats.answered += 1
