"""The `sinks:` list of the hall file: back ends that get every journal record (docs/backends.md).

Each entry names its `type`; the common fields (filters, start position, batching, retry) are
the forwarder's, the rest are the back end's. Secrets never live in the hall file: they come
from an environment variable (`*_env`) or a file readable only by the daemon (`*_file`), as for
the MQTT password.
"""

from __future__ import annotations

import fnmatch
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SinkName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SecretError(ValueError):
    """A configured secret cannot be read (variable unset, file unreadable)."""


def read_secret(env: str | None, file: Path | None, what: str) -> str | None:
    """The secret from `env` or `file`, read now so a rotated secret is picked up."""
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"{what}: environment variable {env} is not set")
        return value
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"{what}: cannot read {file}: {exc.strerror}") from None
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SinkSelection(_Strict):
    """Which journal records a back end gets, and where a new one starts."""

    events: list[str] = Field(
        default_factory=lambda: ["*"],
        description="event types to send (shell patterns, e.g. `ticket.*`); default all",
    )
    exclude_events: list[str] = Field(
        default_factory=list, description="event types never sent, e.g. `staff.*` (attendance)"
    )
    drop_fields: list[str] = Field(
        default_factory=list,
        description="keys removed from every event's data (dotted for nested), e.g. id_hash",
    )
    start: str = Field(
        "now",
        description="where a new sink starts: now | today | beginning | YYYY-MM-DD "
        "(only read when the sink has no cursor yet)",
    )

    @field_validator("start")
    @classmethod
    def _start(cls, start: str) -> str:
        if start in ("now", "today", "beginning"):
            return start
        if not _DAY.match(start):
            raise ValueError("start is now, today, beginning or a day YYYY-MM-DD")
        date.fromisoformat(start)
        return start

    def wants(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.events) and not any(
            fnmatch.fnmatchcase(event_type, p) for p in self.exclude_events
        )


class MqttForwarding(SinkSelection):
    """`mqtt.forward`: which records the MQTT sink publishes to `<base>/events/<type>`
    (its own connection, cursor `mqtt`, health `state/sinks/mqtt`)."""

    start: str = Field(
        "beginning",
        description="where forwarding starts when the journal has no `mqtt` cursor yet: "
        "beginning | now | today | YYYY-MM-DD",
    )
    park_retry_s: float = Field(
        600.0, gt=0, le=86_400,
        description="after the broker refused a publish (PUBACK reason code, e.g. its ACL), "
        "that batch is tried again this often",
    )


class SinkCommon(SinkSelection):
    """What every sink has: its name, which records it gets, from where, and how it retries."""

    name: SinkName = Field(description="names its journal cursor `sink:<name>` and its health")
    batch: int = Field(200, ge=1, le=10_000, description="records per delivery at most")
    retry_min_s: float = Field(1.0, gt=0, le=600, description="first retry delay")
    retry_max_s: float = Field(60.0, gt=0, le=3600, description="retry delay cap (backoff)")
    park_retry_s: float = Field(
        600.0, gt=0, le=86_400,
        description="a sink parked by a rejected batch tries that batch again this often",
    )

    @model_validator(mode="after")
    def _retry(self) -> Self:
        if self.retry_min_s > self.retry_max_s:
            raise ValueError("retry_min_s is larger than retry_max_s")
        return self

    @property
    def cursor(self) -> str:
        return f"sink:{self.name}"

    @property
    def device(self) -> str:
        """A sink reports like a device of the hall under this id (alarm `rejected`)."""
        return f"sink:{self.name}"


def _check_http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be http://host/... or https://host/...")
    if parts.username or parts.password:
        raise ValueError("no credentials in the url: use secret_env or secret_file")
    return url


class WebhookSink(SinkCommon):
    """POST batches as JSON, signed with HMAC-SHA256 over a timestamp and the body
    (`X-Hallctl-Signature: t=<unix>,v1=<hex>`; docs/backends.md has the receiver's check)."""

    type: Literal["webhook"]
    url: str = Field(description="receiver; 2xx = accepted, 5xx = retried, 4xx parks the sink")
    secret_env: str | None = Field(None, description="variable holding the HMAC secret")
    secret_file: Path | None = Field(None, description="file holding the HMAC secret")
    timeout_s: float = Field(10.0, gt=0, le=300, description="a slower answer is retried")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _check_http_url(url)

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("a webhook needs exactly one of secret_env or secret_file")
        return self

    def secret(self) -> bytes:
        value = read_secret(self.secret_env, self.secret_file, f"sinks.{self.name}")
        assert value is not None  # one of them is set (checked above)
        return value.encode()


class PostgresSink(SinkCommon):
    """Upsert events by id into a PostgreSQL table; hallctl creates and migrates the schema."""

    type: Literal["postgresql"]
    dsn: str = Field(
        description="postgresql://user@host:port/database (password: password_env/_file)"
    )
    password_env: str | None = None
    password_file: Path | None = None
    schema_name: str = Field(
        "hallctl", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="PostgreSQL schema"
    )
    timeout_s: float = Field(30.0, gt=0, le=600)

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, dsn: str) -> str:
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("dsn must start with postgresql://")
        if parts.password:
            raise ValueError("no password in the dsn: use password_env or password_file")
        return dsn

    @model_validator(mode="after")
    def _one_password(self) -> Self:
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("set password_env or password_file, not both")
        return self

    def password(self) -> str | None:
        return read_secret(self.password_env, self.password_file, f"sinks.{self.name}")


class NatsSink(SinkCommon):
    """Publish to NATS JetStream: subject `<prefix>.<hall>.<type>`, Nats-Msg-Id = event id."""

    type: Literal["nats"]
    servers: list[str] = Field(
        default_factory=lambda: ["nats://127.0.0.1:4222"], min_length=1,
        description="nats://host:port of the cluster's nodes (any one will do)",
    )
    subject_prefix: str = Field("hallctl", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    stream: str = Field("HALLCTL", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    create_stream: bool = Field(
        True, description="create the stream if missing (a city creates it centrally)"
    )
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    timeout_s: float = Field(10.0, gt=0, le=300, description="PubAck wait")

    def password(self) -> str | None:
        return read_secret(self.password_env, self.password_file, f"sinks.{self.name}")


class HaochapingSink(SinkCommon):
    """好差评: evaluation records mapped by a YAML field mapping to a provincial interface."""

    type: Literal["haochaping"]
    events: list[str] = Field(
        default_factory=lambda: ["evaluation.recorded"],
        description="only evaluation records are uploaded",
    )
    url: str = Field(description="the provincial interface's upload address")
    mapping: Path = Field(description="YAML field mapping (see config/haochaping-sample.yaml)")
    region_code: str = Field(pattern=r"^\d{6,12}$", description="行政区划代码 of the hall")
    department_code: str = Field(min_length=1, description="部门编码 / 统一社会信用代码")
    app_key_env: str | None = Field(None, description="variable holding the platform's key")
    app_key_file: Path | None = None
    timeout_s: float = Field(15.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _check_http_url(url)

    def app_key(self) -> str | None:
        return read_secret(self.app_key_env, self.app_key_file, f"sinks.{self.name}")


SinkConfig = Annotated[
    WebhookSink | PostgresSink | NatsSink | HaochapingSink, Field(discriminator="type")
]


def check_unique(sinks: list[SinkConfig]) -> list[SinkConfig]:
    names = [s.name for s in sinks]
    if "mqtt" in names:
        raise ValueError("the sink name mqtt is the MQTT link's forwarder (mqtt.forward)")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"sink names must be unique: {', '.join(twice)}")
    return sinks
