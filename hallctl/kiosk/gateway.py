"""The kiosk gateway: `<base>/kiosk/<id>/request/<action>` in, an answer on the Response Topic.

Every request goes through the same gates, in this order, and the first that refuses answers:

1. the kiosk id in the topic must be configured (`forbidden`; the broker's ACL should already
   keep a kiosk on its own id, this is the daemon's own check when the broker is open);
2. its token bucket must have a token (`rate_limited`);
3. the action must be granted to that kiosk (`forbidden`): kiosks take tickets, they never
   call, close or pause a window, whatever they publish;
4. the payload must be a JSON object of the action's fields (`bad_json` / `bad_request`).

Refusals never reach the engine, so they change nothing. Ticket actions then become engine
requests with `source` = kiosk id and a request id scoped to the kiosk (the payload's
`request_id`, or one derived from response topic + correlation data), so a retry with the
same correlation data returns the same ticket. A phone or ID number goes to the engine as
`id_value`; the engine hashes and masks it before anything is journaled or forwarded.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import aiomqtt
import structlog
from pydantic import BaseModel, ValidationError

from hallctl import json_input
from hallctl.hall.errors import HallError
from hallctl.kiosk import contract as c
from hallctl.kiosk.config import KioskConfig, KioskSection
from hallctl.kiosk.ratelimit import Clock, RateLimiter
from hallctl.kiosk.views import closed_reason, queue_status, service_list
from hallctl.mqtt.requests import Reply, derived_request_id, error_response, reply_message
from hallctl.mqtt.topics import Topics, reply_topic_ok

if TYPE_CHECKING:
    from hallctl.hall.core import Hall

log = structlog.get_logger(__name__)

REMEMBERED_ANSWERS = 4096  # ticket answers kept for retries (see _ticket_action)

Response = dict[str, Any]


class KioskEngine(Protocol):
    """The part of `HallEngine` the gateway uses."""

    hall: Hall

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]: ...
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from and where its answer goes."""

    kiosk: str
    action: str
    response_topic: str | None
    correlation: bytes | None


@dataclass(slots=True)
class KioskStats:
    received: int = 0
    answered: int = 0
    forbidden: int = 0
    rate_limited: int = 0
    rejected: int = 0  # bad JSON or fields
    no_response_topic: int = 0
    response_topic_refused: int = 0  # not under <base>/kiosk/<id>/response/
    lost_responses: int = 0
    internal_errors: int = 0


def _fail(code: str, detail: str | None = None) -> Response:
    return {"ok": False, "error": HallError(code, detail).to_dict()}


def _ok(result: BaseModel) -> Response:
    return {"ok": True, "result": result.model_dump(mode="json")}


class KioskGateway:
    def __init__(
        self,
        engine: KioskEngine,
        section: KioskSection,
        base_topic: str,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self._engine = engine
        self._section = section
        self._prefix = f"{base_topic}/kiosk/"
        self._topics = Topics(base_topic)
        self.topic_filter = self.filter_for(base_topic)
        self._limiter = RateLimiter(clock)
        self._last_ticket: dict[str, tuple[str, str]] = {}  # kiosk -> (day, ticket)
        self._answers: OrderedDict[str, Response] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = KioskStats()

    @staticmethod
    def filter_for(base_topic: str) -> str:
        return f"{base_topic}/kiosk/+/request/+"

    # -- MQTT side -----------------------------------------------------------------------------

    def submit(self, message: aiomqtt.Message, reply: Reply) -> None:
        """Take one request message; never waits (the link's receive loop calls this)."""
        self.stats.received += 1
        props = message.properties
        response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        kiosk, action = self._parse_topic(message.topic.value)
        if not response_topic:
            # Nobody could learn the outcome: a ticket printed for nobody is worse than none.
            self.stats.no_response_topic += 1
            log.warning("kiosk.request_without_response_topic", kiosk=kiosk, action=action)
            return
        own = self._topics.kiosk_response_prefix(kiosk)
        if not (response_topic.startswith(own) and len(response_topic) > len(own)
                and reply_topic_ok(response_topic)):
            # The daemon may publish anywhere in its tree: a kiosk naming `<base>/status` or
            # another kiosk's topic would have it forge state or answer for someone else.
            self.stats.response_topic_refused += 1
            log.warning("kiosk.response_topic_refused", kiosk=kiosk, action=action,
                        response_topic=response_topic[:200])
            return
        payload = message.payload if isinstance(message.payload, bytes) else b""
        origin = Origin(kiosk, action, response_topic, correlation)
        self._spawn(self._serve(origin, payload, reply))

    async def aclose(self) -> None:
        """Cancel requests in hand (shutdown); their kiosks retry with the same correlation."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def drain(self, within_s: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within_s)

    def _parse_topic(self, topic: str) -> tuple[str, str]:
        # The link only hands us topics matching `<base>/kiosk/+/request/+`.
        kiosk, _, action = topic[len(self._prefix) :].split("/")
        return kiosk, action

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # the loop holds tasks weakly
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, origin: Origin, payload: bytes, reply: Reply) -> None:
        response = await self.answer(origin, payload)
        assert origin.response_topic is not None
        body, props = reply_message(response, origin.correlation)
        try:
            await reply(origin.response_topic, body, props)
        except (aiomqtt.MqttError, ValueError) as exc:
            # Done durably (or refused); the kiosk retries with the same correlation data.
            self.stats.lost_responses += 1
            log.warning("kiosk.response_lost", kiosk=origin.kiosk, error=str(exc))
            return
        self.stats.answered += 1

    # -- the gates -----------------------------------------------------------------------------

    async def answer(self, origin: Origin, payload: bytes) -> Response:
        """The answer to one request; refusals never reach the engine."""
        kiosk = self._section.kiosk(origin.kiosk)
        if kiosk is None:
            return self._refused("forbidden", origin, f"unknown kiosk {origin.kiosk!r}")
        if not self._limiter.allow(kiosk.id, kiosk.rate_per_min, kiosk.bucket_size):
            return self._refused("rate_limited", origin, f"{kiosk.rate_per_min}/min")
        if origin.action not in kiosk.allowed:
            detail = f"kiosk {kiosk.id!r} may not {origin.action!r}"
            return self._refused("forbidden", origin, detail)
        request = self._parse(origin.action, payload)
        if isinstance(request, dict):
            self.stats.rejected += 1
            log.info(
                "kiosk.request_rejected",
                kiosk=kiosk.id,
                action=origin.action,
                code=request["error"]["code"],
            )
            return request
        try:
            response = await self._dispatch(kiosk, origin, request)
        except HallError as err:
            response = {"ok": False, "error": err.to_dict()}
        except Exception:
            # A bug must not leave the kiosk waiting for a time-out.
            self.stats.internal_errors += 1
            log.exception("kiosk.request_failed", kiosk=kiosk.id, action=origin.action)
            response = _fail("internal", "retry with the same correlation data")
        if not response["ok"]:
            log.info(
                "kiosk.request_refused_by_hall",
                kiosk=kiosk.id,
                action=origin.action,
                code=response["error"]["code"],
            )
        return response

    def _refused(self, code: str, origin: Origin, detail: str) -> Response:
        if code == "forbidden":
            self.stats.forbidden += 1
        else:
            self.stats.rate_limited += 1
        log.warning("kiosk.request_refused", kiosk=origin.kiosk, action=origin.action, code=code)
        return _fail(code, detail)

    def _parse(self, action: str, payload: bytes) -> c.KioskRequest | Response:
        try:
            body = json_input.loads(payload) if payload.strip() else {}
        except json_input.JsonInputError as exc:
            return error_response("bad_json", str(exc))
        if not isinstance(body, dict):
            return _fail("bad_request", "payload must be a JSON object")
        # Kiosks may repeat the action in the payload; the topic decides (ACLs are per topic).
        if body.pop("action", action) != action:
            return _fail("bad_request", "payload `action` differs from the topic's action")
        try:
            return c.REQUESTS[action].model_validate(body)
        except ValidationError as exc:
            # Field names and rules only: the input may be a phone number, never echo it.
            parts = [
                f"{'.'.join(str(x) for x in e['loc']) or 'request'}: {e['msg']}"
                for e in exc.errors(include_input=False)
            ]
            return _fail("bad_request", "; ".join(parts))

    # -- the actions ---------------------------------------------------------------------------

    async def _dispatch(
        self, kiosk: KioskConfig, origin: Origin, request: c.KioskRequest
    ) -> Response:
        hall = self._engine.hall
        now = self._engine.now()
        unstaffed = self._section.refuse_when_unstaffed
        match request:
            case c.ListServices():
                return _ok(service_list(hall, now, unstaffed))
            case c.QueueStatus(service=service, ticket=ticket):
                if service is not None:
                    self._known_service(service)
                if ticket is not None and ticket not in hall.state.tickets:
                    raise HallError("unknown_ticket", ticket)
                codes = [service] if service else [s.code for s in hall.config.services]
                return _ok(queue_status(hall, now, unstaffed, codes, ticket))
            case c.TakeTicket(service=service) | c.GreenTicket(service=service):
                channel = "green" if isinstance(request, c.GreenTicket) else "normal"
                fields = {"service": service, "channel": channel}
                return await self._ticket_action(kiosk, origin, request, fields)
            case c.CheckIn(appointment_code=code):
                appointment = hall.state.appointments.get(code)
                if appointment is None:
                    raise HallError("unknown_appointment")  # never echo the code back
                fields = {
                    "service": appointment["service"],
                    "channel": "appointment",
                    "appointment_code": code,
                }
                return await self._ticket_action(kiosk, origin, request, fields)
            case c.ReprintLast():
                return await self._reprint_last(kiosk, origin, request)
        raise AssertionError(f"no handler for {type(request).__name__}")

    def _known_service(self, code: str) -> None:
        try:
            self._engine.hall.config.service(code)
        except KeyError:
            raise HallError("unknown_service", code) from None

    def _request_id(
        self, kiosk: KioskConfig, origin: Origin, request: c.KioskRequest
    ) -> str | None:
        # Scoped to the kiosk: two kiosks (or a kiosk and the back end) choosing the same id
        # must never receive each other's tickets from the idempotency cache.
        if request.request_id is not None:
            return f"kiosk-{kiosk.id}-{request.request_id}"
        if origin.response_topic and origin.correlation:
            derived = derived_request_id(origin.response_topic, origin.correlation)
            return f"kiosk-{kiosk.id}-{derived}"
        return None  # without correlation data every request is new: nothing to know a retry by

    async def _ticket_action(
        self, kiosk: KioskConfig, origin: Origin, request: c.KioskRequest, fields: dict[str, Any]
    ) -> Response:
        assert isinstance(request, c.PersonMixin)
        rid = self._request_id(kiosk, origin, request)
        # A retry is answered like the first time even if the hall changed in between (the
        # window closed meanwhile): the gateway's own refusals come after this look-up.
        remembered = self._answers.get(rid) if rid else None
        if remembered is not None:
            return remembered
        hall = self._engine.hall
        self._known_service(fields["service"])
        reason = closed_reason(
            hall, fields["service"], self._engine.now(), self._section.refuse_when_unstaffed
        )
        if reason == "service_closed":  # the hall core decides hours and caps itself
            raise HallError("service_closed", fields["service"])
        engine_request: dict[str, Any] = {
            "action": "take_ticket",
            **fields,
            "source": kiosk.id,
            "request_id": rid,
        }
        if request.id_value is not None:
            engine_request["id_value"] = request.id_value  # hashed and masked by the engine
        answer = await self._engine.execute(engine_request)
        if not answer["ok"]:
            return answer
        ticket = _ticket(answer["result"], kiosk.id)
        self._last_ticket[kiosk.id] = (hall.state.day, ticket.ticket)
        response = _ok(ticket)
        if rid:
            self._answers[rid] = response
            if len(self._answers) > REMEMBERED_ANSWERS:
                self._answers.popitem(last=False)
        return response

    async def _reprint_last(
        self, kiosk: KioskConfig, origin: Origin, request: c.KioskRequest
    ) -> Response:
        last = self._last_ticket.get(kiosk.id)
        # Yesterday's A001 is not today's A001: numbers restart every day.
        if last is None or last[0] != self._engine.hall.state.day:
            raise HallError("unknown_ticket", "this kiosk has issued no ticket today")
        answer = await self._engine.execute(
            {
                "action": "reprint",
                "ticket": last[1],
                "source": kiosk.id,
                "request_id": self._request_id(kiosk, origin, request),
            }
        )
        if not answer["ok"]:
            return answer
        return _ok(_ticket(answer["result"], kiosk.id))


def _ticket(result: Mapping[str, Any], kiosk: str) -> c.Ticket:
    # Only what the kiosk shows: the engine's result also carries the keyed hash and counters.
    fields = {k: result[k] for k in c.Ticket.model_fields if k in result}
    return c.Ticket(**fields, kiosk=kiosk)
