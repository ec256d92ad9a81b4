"""Pydantic models of the hall file: one schema that both validates and documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from hallctl.accounts.config import AccountsConfig
from hallctl.attendance.config import AttendanceConfig
from hallctl.config.timerange import TimeRange
from hallctl.drivers.serial_config import SerialSection
from hallctl.forward.config import SinkConfig, check_unique
from hallctl.kiosk.config import KioskSection
from hallctl.modbus.config import ModbusConfig
from hallctl.mqtt.settings import MqttSettings
from hallctl.supervision.config import SupervisionConfig
from hallctl.voice.config import VoiceSection
from hallctl.web.config import WebSection

CONFIG_VERSION = 1

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a hall file must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceGuide(Strict):
    """办事指南 shown on kiosks."""

    description: str = ""
    materials: list[str] = []
    fees: str = "不收费"
    legal_time_limit_days: int | None = None


class ServiceConfig(Strict):
    """业务: a kind of business with its own ticket line."""

    code: Code
    name: str = Field(min_length=1, description="Chinese name shown on tickets and displays")
    name_en: str | None = None
    group: str | None = Field(None, description="kiosk page heading it is listed under, e.g. 社保")
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$", description="ticket prefix, e.g. A → A012")
    digits: int = Field(3, ge=1, le=5)
    number_start: int = Field(1, ge=0)
    number_end: int | None = Field(None, description="last number of the day; default 10^digits-1")
    daily_cap: int | None = Field(None, ge=1, description="at most this many tickets a day")
    hours: list[TimeRange] = Field(
        default_factory=list, description="issuing hours; empty = whenever the hall is open"
    )
    priority_weight: int = Field(1, ge=1, le=100, description="share in the weighted ratio rule")
    target_wait_min: int = Field(15, ge=1)
    limit_wait_min: int = Field(30, ge=1, description="a longer wait raises an 电子监察 alarm")
    avg_service_min: float = Field(8.0, gt=0, description="seed of the service-time estimate")
    kind: Literal["immediate", "promised"] = Field(
        "immediate", description="即办件 (done on the spot) or 承诺件 (done within promised_days)"
    )
    promised_days: int | None = Field(None, ge=1)
    one_per_person: bool = Field(False, description="one ticket per ID per day for this service")
    green_channel: bool = Field(True, description="green-channel tickets may be issued")
    guide: ServiceGuide = ServiceGuide()

    @model_validator(mode="after")
    def _check(self) -> ServiceConfig:
        if self.kind == "promised" and self.promised_days is None:
            raise ValueError("a promised (承诺件) service needs promised_days")
        if self.number_end is not None:
            if self.number_end < self.number_start:
                raise ValueError("number_end is below number_start")
            if self.number_end >= 10**self.digits:
                raise ValueError(f"number_end {self.number_end} has more than {self.digits} digits")
        for i, a in enumerate(self.hours):
            for b in self.hours[i + 1 :]:
                if a.overlaps(b):
                    raise ValueError(f"issuing hours {a} and {b} overlap")
        return self

    @property
    def last_number(self) -> int:
        return self.number_end if self.number_end is not None else 10**self.digits - 1

    @property
    def capacity(self) -> int:
        """How many numbers a day can hand out (range and cap together)."""
        span = self.last_number - self.number_start + 1
        return min(span, self.daily_cap) if self.daily_cap else span


RuleName = Literal[
    "green_first", "appointments", "service_level", "weighted_ratio", "longest_wait", "fifo"
]
DEFAULT_RULES: tuple[RuleName, ...] = (
    "green_first",
    "appointments",
    "service_level",
    "weighted_ratio",
    "longest_wait",
    "fifo",
)


class PolicyConfig(Strict):
    """An ordered chain of rules; each narrows the candidates the next one sees."""

    rules: list[RuleName] = Field(default_factory=lambda: list(DEFAULT_RULES))

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[RuleName]) -> list[RuleName]:
        if len(set(rules)) != len(rules):
            raise ValueError("a rule is listed twice")
        if not rules:
            raise ValueError("at least one rule is needed")
        return rules


class WindowService(Strict):
    service: Code
    level: int = Field(1, ge=1, le=9, description="1 = served first at this window")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        # "BDC" is shorthand for {service: BDC, level: 1}
        return {"service": value} if isinstance(value, str) else value


class WindowConfig(Strict):
    """窗口: a counter serving a list of services."""

    number: int = Field(ge=1, le=999)
    name: str | None = None
    services: list[WindowService] = Field(min_length=1)
    default_staff: str | None = None
    policy: PolicyConfig | None = Field(None, description="overrides the hall's calling policy")

    @property
    def display_name(self) -> str:
        return self.name or f"{self.number}号窗口"


class StaffConfig(Strict):
    id: Code
    name: str
    staff_no: str
    role: Literal["A", "B"] = "A"
    windows: list[int] = Field(default_factory=list, description="windows this person covers")
    access: Literal["staff", "supervisor", "admin"] = Field(
        "staff", description="what this person may do when logged in on the web (docs/security.md)"
    )
    external_ids: list[str] = Field(
        default_factory=list,
        description="ids of this person on attendance clocks (PIN, employeeNo)",
    )


class CallingConfig(Strict):
    policy: PolicyConfig = PolicyConfig()
    recall_cap: int = Field(3, ge=0, description="重呼 at most this many times")
    no_show_rejoin_min: int | None = Field(
        30, ge=1, description="a no-show may rejoin within this many minutes; null = never"
    )
    rejoin_front: bool = Field(False, description="a rejoining ticket goes to the front")
    recent_calls: int = Field(8, ge=1, le=50, description="calls kept for the main display")


class EvaluationConfig(Strict):
    timeout_s: int = Field(60, ge=5, description="no answer by then records 'not evaluated'")
    require_reason_for_bad: bool = Field(
        False, description="不满意/非常不满意 must carry a reason (kiosk/back end); devices cannot"
    )


class DutyConfig(Strict):
    """Staff on duty (考勤) rules; they need attendance clocks to know who is in."""

    enabled: bool = Field(False, description="raise duty alarms and ask B staff to cover (AB岗)")
    schedule: list[TimeRange] = Field(
        default_factory=list, description="working hours; default: the hall's hours"
    )
    late_grace_min: int = Field(10, ge=0, description="no check-in by start + this: late arrival")
    unattended_grace_min: int = Field(5, ge=0, description="open window, staff not in: alarm")
    cover_after_min: int = Field(15, ge=0, description="A absent this long: ask B to cover")


class PrivacyConfig(Strict):
    secret_file: Path | None = Field(
        None, description="per-hall secret for hashing ID numbers; default <data_dir>/secret"
    )


class RetentionConfig(Strict):
    days: int = Field(180, ge=1, description="journal days kept before archive/prune")
    archive: bool = True


class HallInfo(Strict):
    id: Code
    name: str
    timezone: str = "Asia/Shanghai"
    hours: list[TimeRange] = Field(default_factory=list, description="hall opening hours")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown timezone {tz!r}") from e
        return tz

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ControlConfig(Strict):
    socket: Path | None = Field(None, description="default <data_dir>/control.sock")
    mode: int = Field(0o660, description="socket file permissions")


class HttpConfig(Strict):
    """The daemon's one HTTP front: devices that push (face clocks) and the hall's pages."""

    host: str = Field(
        "127.0.0.1",
        description="address to listen on; loopback by default, 0.0.0.0 or a LAN address to "
        "serve other machines (an explicit choice)",
    )
    port: int = Field(8080, ge=0, le=65535, description="0 picks a free port (tests)")
    max_body_kib: int = Field(4096, ge=1, description="largest request body accepted")
    header_timeout_s: float = Field(
        10.0, gt=0, le=300,
        description="a connection must send a request's headers within this (slow clients are "
        "cut off); also how long an idle keep-alive connection stays open",
    )
    body_timeout_s: float = Field(
        30.0, gt=0, le=600, description="a request's body must arrive within this"
    )
    tls_cert: Path | None = Field(None, description="PEM certificate (chain): serve HTTPS")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")

    @model_validator(mode="after")
    def _tls_pair(self) -> HttpConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self


class HallConfig(Strict):
    """The whole hall file."""

    version: Literal[1] = 1
    hall: HallInfo
    services: list[ServiceConfig] = Field(min_length=1)
    windows: list[WindowConfig] = Field(min_length=1)
    staff: list[StaffConfig] = Field(default_factory=list)
    calling: CallingConfig = CallingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    duty: DutyConfig = DutyConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    data_dir: Path = Path("var")
    retention: RetentionConfig = RetentionConfig()
    control: ControlConfig = ControlConfig()
    mqtt: MqttSettings | None = Field(None, description="the broker link (docs/mqtt.md)")
    http: HttpConfig | None = Field(None, description="the HTTP front (push devices, pages)")
    modbus: ModbusConfig | None = Field(None, description="Modbus lines and devices")
    attendance: AttendanceConfig | None = Field(None, description="face-recognition clocks")
    serial: SerialSection | None = Field(None, description="serial lines and devices")
    kiosks: KioskSection | None = Field(None, description="touchscreen kiosks (docs/kiosks.md)")
    supervision: SupervisionConfig = Field(
        SupervisionConfig(), description="电子监察: norms, 差评 follow-up, calendar, reports"
    )
    voice: VoiceSection | None = Field(None, description="voice calling, 语音叫号 (docs/voice.md)")
    sinks: Annotated[list[SinkConfig], AfterValidator(check_unique)] = Field(
        default_factory=list, description="back ends fed from the journal (docs/backends.md)"
    )
    accounts: AccountsConfig = Field(
        default_factory=AccountsConfig, description="staff log-in on the web: sessions, lock-out"
    )
    web: WebSection | None = Field(None, description="displays, window screens, kiosk pages")

    def service(self, code: str) -> ServiceConfig:
        for s in self.services:
            if s.code == code:
                return s
        raise KeyError(code)

    def window(self, number: int) -> WindowConfig:
        for w in self.windows:
            if w.number == number:
                return w
        raise KeyError(number)
