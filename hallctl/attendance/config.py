"""Config models of the attendance section of the hall file, and of MQTT face profiles.

The hall file's `attendance:` section validates into `AttendanceConfig`. A face terminal that
speaks MQTT has no standard payload, so its shape is a profile (`devices/face-*.yaml`, validated
into `MqttFaceProfile`) kept apart from the instances (which terminals, which hall device ids),
as EdgeX separates device profiles from devices.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hallctl.attendance.records import Direction

# Hall device ids: they end up in request ids ("att:<device>:<staff>@<time>", at most 128).
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,47}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- ZKTeco ADMS (push) ------------------------------------------------------------------------


_SHA256 = r"^[0-9a-fA-F]{64}$"
AllowFrom = list[IPv4Network | IPv6Network]


class AdmsClock(_Model):
    sn: str = Field(min_length=1, max_length=64, description="serial number the clock sends as SN")
    device: str = Field(pattern=_ID, description="the hall's device id for this clock")
    allow_from: AllowFrom = Field(
        default_factory=list,
        description="source addresses or networks (10.0.5.21, 10.0.5.0/24) this clock may push "
        "from; empty: any address",
    )
    comm_key_sha256: str | None = Field(
        default=None,
        pattern=_SHA256,
        description="SHA-256 (hex) of the clock's push communication key (pushcommkey); when "
        "set, the clock must present the key at its handshake, and requests without it are "
        "taken only from the address that presented it",
    )


class AdmsConfig(_Model):
    clocks: list[AdmsClock] = Field(
        default_factory=list, description="allow-list: a clock not listed here is refused"
    )
    status_map: dict[int, Direction] = Field(
        default_factory=lambda: dict[int, Direction]({0: "in", 1: "out"}),
        description="ATTLOG status → direction; unmapped statuses are counted and skipped "
        "(ZKTeco: 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 OT-in, 5 OT-out, "
        "255 undefined)",
    )
    delay_s: int = Field(default=10, ge=1, le=3600, description="Delay: getrequest poll period")
    error_delay_s: int = Field(default=30, ge=1, le=3600, description="ErrorDelay: retry period")
    trans_times: str = Field(default="00:00;14:05", pattern=r"^(\d\d:\d\d)(;\d\d:\d\d)*$")
    trans_interval_min: int = Field(default=1, ge=1, le=1440)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique([c.sn for c in self.clocks], "adms.clocks[].sn")
        _require_unique([c.device for c in self.clocks], "adms.clocks[].device")
        return self


# --- ZKTeco binary TCP (pull, port 4370) ------------------------------------------------------


class ZkTcpClock(_Model):
    host: str = Field(min_length=1)
    port: int = Field(default=4370, ge=1, le=65535)
    device: str = Field(pattern=_ID, description="the hall's device id for this clock")


class ZkTcpConfig(_Model):
    clocks: list[ZkTcpClock] = Field(default_factory=list)
    status_map: dict[int, Direction] = Field(
        default_factory=lambda: dict[int, Direction]({0: "in", 1: "out"}),
        description="attendance state byte of a realtime event → direction",
    )
    timeout_s: float = Field(default=5, gt=0, le=60)
    reconnect_max_s: float = Field(default=60, ge=1, le=3600)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique([c.device for c in self.clocks], "zk_tcp.clocks[].device")
        return self


# --- Hikvision ISAPI (push) --------------------------------------------------------------------


class IsapiTerminal(_Model):
    device: str = Field(pattern=_ID, description="the hall's device id for this terminal")
    ip: IPv4Address | IPv6Address | None = Field(
        default=None, description="accept events whose TCP peer is this address"
    )
    token: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="accept events POSTed to <path>/<token> (for terminals behind NAT)",
    )
    allow_from: AllowFrom = Field(
        default_factory=list,
        description="source addresses or networks a token terminal may post from (e.g. the "
        "NAT router); empty: any address. A terminal known by ip is taken only from that ip",
    )

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.ip is None and self.token is None:
            raise ValueError("an ISAPI terminal needs an ip or a token to be recognised")
        return self


class IsapiConfig(_Model):
    path: str = Field(default="/isapi/events", pattern=r"^/[A-Za-z0-9_\-/]*[A-Za-z0-9_\-]$")
    terminals: list[IsapiTerminal] = Field(default_factory=list)
    sub_event_types: frozenset[int] = Field(
        default=frozenset({1, 38, 75}),
        description="majorEventType 5 sub-types that are a punch: 1 card, 38 fingerprint, 75 face",
    )
    status_map: dict[str, Direction] = Field(
        default_factory=lambda: dict[str, Direction]({"checkIn": "in", "checkOut": "out"}),
        description="attendanceStatus → direction; others (breakOut, undefined…) are skipped",
    )

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique([t.device for t in self.terminals], "isapi.terminals[].device")
        _require_unique([str(t.ip) for t in self.terminals if t.ip], "isapi.terminals[].ip")
        _require_unique([t.token for t in self.terminals if t.token], "isapi.terminals[].token")
        return self


# --- MQTT face terminals -----------------------------------------------------------------------

# A field reference: a dotted JSON path ("info.personId", "records.0.time") or a topic level
# ("$topic[2]", 0-based).
_FIELD = r"^(\$topic\[\d+\]|[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*)$"


class MqttFaceFields(_Model):
    staff_id: str = Field(pattern=_FIELD)
    time: str = Field(pattern=_FIELD)
    device_id: str = Field(pattern=_FIELD)
    direction: str | None = Field(default=None, pattern=_FIELD)


class MqttFaceProfile(_Model):
    """The payload shape of one family of MQTT face terminals (devices/face-<name>.yaml)."""

    name: str = Field(pattern=_ID)
    topic: str = Field(min_length=1, description="subscription filter; + and # allowed")
    fields: MqttFaceFields
    time_format: str = Field(
        default="iso8601",
        description="iso8601 | epoch_s | epoch_ms | a strptime pattern such as %Y-%m-%d %H:%M:%S; "
        "times without an offset are hall-local",
    )
    direction_map: dict[str, Direction] = Field(default_factory=dict)
    direction_default: Direction | None = Field(
        default=None, description="direction when the message has none (terminals at one door)"
    )
    match: dict[str, str] = Field(
        default_factory=dict,
        description="only messages whose field equals the value are punches; others ignored",
    )

    @field_validator("time_format")
    @classmethod
    def _time_format(cls, value: str) -> str:
        if value not in ("iso8601", "epoch_s", "epoch_ms") and "%" not in value:
            raise ValueError("time_format is iso8601, epoch_s, epoch_ms or a strptime pattern")
        return value

    @field_validator("match")
    @classmethod
    def _match_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            if not re.match(_FIELD, path):
                raise ValueError("match key is not a field reference: " + path)
        return value

    @model_validator(mode="after")
    def _direction_source(self) -> Self:
        if self.fields.direction is None and self.direction_default is None:
            raise ValueError("give fields.direction or direction_default")
        return self


class MqttFaceBinding(_Model):
    profile: str = Field(pattern=_ID, description="name of a devices/face-<name>.yaml profile")
    terminals: dict[str, Annotated[str, Field(pattern=_ID)]] = Field(
        default_factory=dict,
        description="terminal id in the payload → hall device id; empty: any terminal, "
        "its own id used as device id",
    )


# --- the attendance section --------------------------------------------------------------------


class AttendanceConfig(_Model):
    timezone: str = Field(default="Asia/Shanghai", description="the clocks' local time")
    staff: dict[str, str] = Field(
        default_factory=dict,
        description="clock staff id (PIN / employeeNo) → hall staff id; unknown ids are skipped",
    )
    dedup_window_s: float = Field(default=600, ge=0, le=86_400)
    max_age_h: float = Field(
        default=24,
        gt=0,
        description="older punches (a clock replaying its whole log) are counted and skipped",
    )
    max_future_s: float = Field(default=300, ge=0, description="tolerated clock drift ahead")
    keep_pictures: bool = Field(default=False, description="store ISAPI face pictures locally")
    picture_dir: Path | None = None
    adms: AdmsConfig = Field(default_factory=AdmsConfig)
    isapi: IsapiConfig = Field(default_factory=IsapiConfig)
    zk_tcp: ZkTcpConfig = Field(default_factory=ZkTcpConfig)
    mqtt: list[MqttFaceBinding] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone: " + value) from exc
        return value

    @model_validator(mode="after")
    def _pictures(self) -> Self:
        if self.keep_pictures and self.picture_dir is None:
            raise ValueError("keep_pictures needs picture_dir")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _require_unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(what + " must be unique; repeated: " + value)
        seen.add(value)
