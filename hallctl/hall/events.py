"""Typed models of every event's ``data`` and of the envelope, for JSON Schemas and checks.

The core emits plain dicts (fast); the test suite validates each one against these models, so
the schemas published in docs/schemas/ describe what the back end really receives.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(None, description="staff id of who acted, when a person logged in did")
    via: str | None = Field(None, description="the surface the act came through (web, cli, …)")


class TicketRef(EventData):
    ticket: str = Field(description="ticket number, e.g. A012")
    service: str = Field(description="service code")
    service_name: str = Field(description="service name (Chinese)")


class WindowRef(EventData):
    window: int
    window_name: str
    staff: str | None = None


class DayStarted(EventData):
    day: str = Field(description="hall-local business day YYYY-MM-DD; ticket numbers restart")
    previous: str | None


class TicketIssued(TicketRef):
    channel: Literal["normal", "green", "appointment"]
    counter: int
    ahead: int = Field(description="people ahead in the line at issue")
    est_wait_min: float
    issued_at: str
    appointment_code: str | None = None
    id_hash: str | None = Field(None, description="keyed hash of the ID/phone; never the value")
    id_masked: str | None = Field(None, description="masked ID/phone, e.g. 110***********1234")
    source: str | None = None


class TicketCalled(TicketRef, WindowRef):
    channel: Literal["normal", "green", "appointment"]
    wait_s: float | None = None
    callback: bool = False
    out_of_order: bool = Field(False, description="called by number, not by the calling policy")
    reason: str | None = Field(None, description="why it was called out of order")


class ServiceIssuingChanged(EventData):
    service: str
    issuing: bool
    reason: str | None


class ServiceCapChanged(EventData):
    service: str
    cap: int = Field(description="today's daily cap")
    configured: int = Field(description="the hall file's cap, back tomorrow")


class TicketRecalled(TicketRef, WindowRef):
    count: int


class TicketAtWindow(TicketRef):
    window: int | None


class TicketFinished(TicketAtWindow):
    auto: bool = Field(description="finished by calling the next ticket or closing the window")
    case_no: str | None = None
    wait_s: float
    service_s: float


class TicketNoShow(TicketAtWindow):
    rejoin_until: str | None = None


class TicketRejoined(TicketRef):
    front: bool


class TicketCalledBack(TicketRef, WindowRef):
    pass


class TicketTransferred(TicketAtWindow):
    from_service: str
    to_service: str
    to_service_name: str
    front: bool


class TicketReprint(TicketRef):
    channel: str
    ahead: int
    est_wait_min: float
    issued_at: str
    source: str | None = None


class WindowOpened(EventData):
    window: int
    staff: str | None


class WindowOnly(EventData):
    window: int


class WindowPaused(EventData):
    window: int
    reason: str | None


class WindowStaffChanged(EventData):
    window: int
    staff: str | None
    staff_name: str | None = None
    staff_no: str | None = None
    role: Literal["A", "B"] | None = None


class EvaluationRequested(TicketRef, WindowRef):
    pass


class EvaluationRecorded(TicketAtWindow):
    staff: str | None = None
    level: int | None = Field(description="5 非常满意 … 1 非常不满意; null when not evaluated")
    level_name: str
    label_zh: str
    evaluated: bool
    reason: str | None = None
    case_no: str | None = None
    source: str | None = None
    status: Literal["evaluated", "timed_out"] = Field(
        "evaluated", description="参评状态: 评价 / 超时未评 (未评价 = no record at all)"
    )
    channel: Literal["evaluator", "kiosk", "window", "qr"] | None = Field(
        None, description="评价器 / 自助终端 / 窗口 / 扫码"
    )
    scores: dict[str, int] | None = Field(None, description="efficiency/quality/attitude 1..5")
    item_code: str | None = Field(None, description="事项编码")


class StaffAttendance(EventData):
    staff: str
    name: str
    staff_no: str
    device: str | None
    time: str


class DeviceAvailability(EventData):
    device: str
    detail: str | None


class DeviceAlarmData(EventData):
    device: str
    alarm: str
    active: bool
    detail: str | None


class AlarmRaised(EventData):
    model_config = ConfigDict(extra="allow")
    alarm: str = Field(description="alarm key; alarm.cleared names the same key")
    kind: str = Field(description="long_wait | bad_review | unattended_window | …")
    scope: str | None = None
    message: str


class AlarmCleared(EventData):
    alarm: str
    kind: str


class AlarmAcknowledged(EventData):
    alarm: str
    kind: str
    by: str
    note: str | None
    at: str


class CaseOpened(EventData):
    case: str = Field(description="case id: <day opened>-<ticket>")
    ticket: str
    service: str
    window: int | None
    staff: str | None
    level: int
    reason: str | None
    case_no: str | None
    opened: str
    due: str = Field(description="last working day to close it (calendar with 调休)")


class CaseFollowedUp(EventData):
    case: str
    by: str
    note: str
    time: str


class CaseClosed(EventData):
    case: str
    by: str
    note: str
    closed: str
    due: str
    on_time: bool
    staff: str | None
    window: int | None


class ReportDaily(EventData):
    """The day's 电子监察 report was written; the headline KPIs (docs/reports.md)."""

    model_config = ConfigDict(extra="allow")
    day: str
    period: Literal["day"]
    files: list[str] = Field(description="report files in <data_dir>/reports")


class VoiceAnnounced(EventData):
    zone: str = Field(description="speaker zone (voice.zones)")
    ticket: str
    window: int
    window_name: str
    text: str = Field(description="what was said, e.g. 请A012号到5号窗口办理")
    audio_url: str = Field(description="the WAV on the daemon's HTTP front, e.g. /voice/hall/….wav")
    duration_s: float
    trigger: str = Field(description="event type announced: ticket.called, ticket.recalled, …")
    trigger_seq: int = Field(description="journal seq of that event")


class AppointmentBooked(EventData):
    code: str
    service: str
    day: str
    slot: str | None


class NoticeChanged(EventData):
    zone: str | None = Field(description="display zone; null = every display")
    text: str = Field(description="the scrolling notice line; empty = the hall file's")


EVENT_MODELS: dict[str, type[EventData]] = {
    "day.started": DayStarted,
    "ticket.issued": TicketIssued,
    "ticket.called": TicketCalled,
    "service.issuing_changed": ServiceIssuingChanged,
    "service.cap_changed": ServiceCapChanged,
    "ticket.recalled": TicketRecalled,
    "ticket.serving": TicketAtWindow,
    "ticket.finished": TicketFinished,
    "ticket.no_show": TicketNoShow,
    "ticket.rejoined": TicketRejoined,
    "ticket.suspended": TicketAtWindow,
    "ticket.called_back": TicketCalledBack,
    "ticket.transferred": TicketTransferred,
    "ticket.reprint_requested": TicketReprint,
    "window.opened": WindowOpened,
    "window.closed": WindowOnly,
    "window.paused": WindowPaused,
    "window.resumed": WindowOnly,
    "window.staff_changed": WindowStaffChanged,
    "evaluation.requested": EvaluationRequested,
    "evaluation.recorded": EvaluationRecorded,
    "staff.checked_in": StaffAttendance,
    "staff.checked_out": StaffAttendance,
    "device.online": DeviceAvailability,
    "device.offline": DeviceAvailability,
    "device.alarm": DeviceAlarmData,
    "alarm.raised": AlarmRaised,
    "alarm.cleared": AlarmCleared,
    "alarm.acknowledged": AlarmAcknowledged,
    "case.opened": CaseOpened,
    "case.followed_up": CaseFollowedUp,
    "case.closed": CaseClosed,
    "report.daily": ReportDaily,
    "appointment.booked": AppointmentBooked,
    "voice.announced": VoiceAnnounced,
    "notice.changed": NoticeChanged,
}


class Envelope(BaseModel):
    """What every ``…/events/<type>`` message carries."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="unique, time-sortable (ULID); deduplicate by it")
    seq: int = Field(description="journal order; increases by one per event in this hall")
    hall: str
    type: str
    ts: str = Field(description="ISO 8601 with offset")
    v: int = Field(description="schema version of data")
    data: dict[str, Any]


def validate_event(type_: str, data: dict[str, Any]) -> EventData:
    return EVENT_MODELS[type_].model_validate(data)
