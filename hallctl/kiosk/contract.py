"""What a kiosk sends and gets back: one pydantic model per action and per result.

The models validate requests at the gateway, build its answers (so the published JSON Schemas
in docs/schemas/kiosk/ describe exactly what goes on the wire) and generate those schemas.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hallctl.kiosk.config import KIOSK_ACTIONS

# Mainland mobile numbers and resident ID numbers (18 characters; 15-digit old cards).
PHONE = r"^1[3-9][0-9]{9}$"
ID_NUMBER = r"^([0-9]{17}[0-9Xx]|[0-9]{15})$"


class KioskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="idempotency key; default: derived from response topic + correlation data",
    )


class PersonMixin(KioskRequest):
    phone: str | None = Field(
        None, pattern=PHONE, description="mobile number; hashed and masked by the hall"
    )
    id_number: str | None = Field(
        None, pattern=ID_NUMBER, description="身份证号; hashed and masked by the hall"
    )

    @model_validator(mode="after")
    def _one_identity(self) -> Self:
        if self.phone is not None and self.id_number is not None:
            raise ValueError("give phone or id_number, not both")
        return self

    @property
    def id_value(self) -> str | None:
        return self.phone or self.id_number


class ListServices(KioskRequest):
    """`list_services`: every service with its guide (办事指南) and queue."""


class TakeTicket(PersonMixin):
    """`take_ticket`: a normal ticket."""

    service: str = Field(min_length=1, max_length=32)


class CheckIn(PersonMixin):
    """`check_in`: an appointment (预约) code turned into an appointment ticket."""

    appointment_code: str = Field(min_length=1, max_length=64)


class GreenTicket(PersonMixin):
    """`green_ticket`: a green-channel (绿色通道) ticket, on kiosks configured for it."""

    service: str = Field(min_length=1, max_length=32)


class QueueStatus(KioskRequest):
    """`queue_status`: waiting and estimated wait; with `ticket`, the people ahead of it."""

    service: str | None = Field(None, max_length=32, description="only this service")
    ticket: str | None = Field(None, max_length=16, description="e.g. A012")


class ReprintLast(KioskRequest):
    """`reprint_last`: print again the last ticket this kiosk issued today."""


REQUESTS: dict[str, type[KioskRequest]] = {
    "list_services": ListServices,
    "take_ticket": TakeTicket,
    "check_in": CheckIn,
    "green_ticket": GreenTicket,
    "queue_status": QueueStatus,
    "reprint_last": ReprintLast,
}
assert set(REQUESTS) == set(KIOSK_ACTIONS)


# ---- results --------------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowRef(Out):
    window: int
    name: str
    status: Literal["open", "closed", "paused"]


ClosedReason = Literal["outside_hours", "daily_cap_reached", "service_closed"]


class ServiceEntry(Out):
    service: str
    name: str
    name_en: str | None
    prefix: str
    description: str = Field(description="办事指南 text")
    materials: list[str] = Field(description="required materials (申请材料)")
    fees: str = Field(description="收费标准")
    kind: Literal["immediate", "promised"]
    kind_zh: Literal["即办件", "承诺件"]
    promised_days: int | None = Field(description="承诺时限, working days")
    legal_time_limit_days: int | None = Field(description="法定时限, working days")
    hours: list[str] = Field(description="issuing hours (HH:MM-HH:MM); empty = all day")
    windows: list[WindowRef] = Field(description="windows that serve it")
    open_now: bool = Field(description="a ticket can be taken now")
    closed_reason: ClosedReason | None = Field(description="why not, when open_now is false")
    waiting: int
    est_wait_min: float
    one_per_person: bool
    green_channel: bool


class ServiceList(Out):
    now: str = Field(description="hall local time, ISO 8601")
    services: list[ServiceEntry]


class Ticket(Out):
    """A ticket just issued (take_ticket, check_in, green_ticket) or reprinted."""

    ticket: str
    service: str
    service_name: str
    channel: Literal["normal", "green", "appointment"]
    ahead: int = Field(description="people called before it")
    est_wait_min: float
    issued_at: str
    id_masked: str | None = Field(None, description="e.g. 138****5678; never the clear value")
    appointment_code: str | None = None
    kiosk: str


class ServiceQueue(Out):
    service: str
    name: str
    waiting: int
    est_wait_min: float
    open_now: bool


class TicketPosition(Out):
    ticket: str
    service: str
    state: Literal["waiting", "called", "serving", "suspended", "finished", "no_show"]
    ahead: int
    est_wait_min: float
    window: int | None
    window_name: str | None


class QueueStatusResult(Out):
    services: list[ServiceQueue]
    ticket: TicketPosition | None = None


RESULTS: dict[str, type[Out]] = {
    "list_services": ServiceList,
    "take_ticket": Ticket,
    "check_in": Ticket,
    "green_ticket": Ticket,
    "queue_status": QueueStatusResult,
    "reprint_last": Ticket,
}

# Codes a kiosk can meet: the gateway's own and the engine's ticket errors.
ERROR_CODES: tuple[str, ...] = (
    "bad_json", "bad_request", "forbidden", "rate_limited", "busy", "internal", "disk_full",
    "unknown_service", "unknown_ticket", "unknown_appointment", "service_closed",
    "outside_hours", "daily_cap_reached", "already_has_ticket", "green_not_allowed",
)


def _response_schema() -> dict[str, Any]:
    return {
        "title": "kiosk response",
        "description": "the `result` of each action is in <action>.result.json",
        "oneOf": [
            {
                "type": "object",
                "properties": {"ok": {"const": True}, "result": {"type": "object"}},
                "required": ["ok", "result"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "ok": {"const": False},
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"enum": list(ERROR_CODES)},
                            "message": {"type": "string", "description": "English"},
                            "message_zh": {"type": "string", "description": "中文"},
                        },
                        "required": ["code", "message", "message_zh"],
                    },
                },
                "required": ["ok", "error"],
                "additionalProperties": False,
            },
        ],
    }


def kiosk_schemas() -> dict[str, dict[str, Any]]:
    """`kiosk/<action>.request.json`, `kiosk/<action>.result.json`, `kiosk/response.json`."""
    out: dict[str, dict[str, Any]] = {"kiosk/response.json": _response_schema()}
    for action in KIOSK_ACTIONS:
        request = REQUESTS[action].model_json_schema()
        request["title"] = f"{action} request"
        out[f"kiosk/{action}.request.json"] = request
        result = RESULTS[action].model_json_schema()
        result["title"] = f"{action} result"
        out[f"kiosk/{action}.result.json"] = result
    return out
