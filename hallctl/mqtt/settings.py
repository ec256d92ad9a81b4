"""The `mqtt:` section of the hall file: where the broker is and how the link behaves.

One schema validates and documents. The password never lives in the hall file: it comes from
an environment variable (`password_env`) or a file readable only by the daemon
(`password_file`, e.g. a systemd credential), so the hall file can be shared and versioned.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, FilePath, field_validator, model_validator

from hallctl.forward.config import MqttForwarding

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class TlsSettings(BaseModel):
    """TLS for `mqtts://`. Without `ca_file` the system trust store is used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: FilePath | None = Field(
        default=None, description="PEM bundle of the CAs that sign the broker's certificate"
    )
    cert_file: FilePath | None = Field(
        default=None, description="client certificate (mutual TLS)"
    )
    key_file: FilePath | None = Field(default=None, description="private key of cert_file")
    insecure: bool = Field(
        default=False,
        description="skip the broker host name check (the chain is still verified); "
        "only for brokers reached by IP with a certificate naming a host",
    )

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (mutual TLS needs both)")
        return self


class MqttSettings(BaseModel):
    """Connection to the back end's MQTT broker (MQTT 5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        default="mqtt://localhost:1883",
        description="mqtt://host[:port] or mqtts://host[:port] (TLS); env HALLCTL_MQTT_URL wins",
    )
    client_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="default: hallctl-<hall id>"
    )
    base_topic: str | None = Field(
        default=None, min_length=1, description="prefix of every topic; default: hallctl/<hall id>"
    )
    keepalive: int = Field(
        default=30, ge=5, le=3600,
        description="seconds; a dead connection is noticed after about 1.5 × keepalive",
    )
    tls: TlsSettings | None = Field(default=None, description="TLS options; only with mqtts://")
    username: str | None = Field(default=None, min_length=1)
    password_env: str | None = Field(
        default=None, min_length=1,
        description="name of the environment variable that holds the password",
    )
    password_file: Path | None = Field(
        default=None, description="file that holds the password (trailing newline ignored)"
    )
    reconnect_min_s: float = Field(default=0.5, gt=0, le=60, description="first reconnect delay")
    reconnect_max_s: float = Field(
        default=10.0, gt=0, le=3600,
        description="reconnect delay cap; a broker whose port answers again is retried at once",
    )
    forward: MqttForwarding = Field(
        default_factory=MqttForwarding,
        description="which journal records go to `<base>/events/<type>` (filters, start); "
        "forwarded on a connection of its own, client id `<client_id>-fwd`",
    )
    forward_batch: int = Field(
        default=500, ge=1, le=10_000,
        description="journal records published before the cursor is saved; the cursor "
        "advances only when every PUBACK of the batch is in",
    )
    max_inflight: int = Field(
        default=100, ge=1, le=65_535,
        description="QoS 1 forwarded events awaiting their PUBACK at once (pipelining); "
        "capped by the broker's Receive Maximum (Mosquitto: max_inflight_messages, default 20)",
    )
    state_interval_ms: int = Field(
        default=500, ge=0, le=60_000,
        description="retained state is republished (changes only) at most this often",
    )
    request_concurrency: int = Field(
        default=8, ge=1, le=256, description="requests executed at the same time"
    )
    request_backlog: int = Field(
        default=256, ge=1, le=100_000,
        description="requests waiting for a slot; beyond it requests are answered `busy`",
    )
    response_topics: list[str] = Field(
        default=["backend/responses/#"], min_length=1,
        description="topic filters a back-end request's Response Topic must match; a request "
        "naming another Response Topic is not executed. Never inside the base topic",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise ValueError("url must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError("url has no host")
        try:
            parts.port  # noqa: B018 - urlsplit validates the port lazily
        except ValueError as exc:
            raise ValueError(f"url has a bad port: {exc}") from None
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("url takes only scheme, host and port")
        if parts.username or parts.password:
            raise ValueError("put the user in `username` and the password in password_env "
                             "or password_file, not in the url")
        return url

    @field_validator("base_topic")
    @classmethod
    def _check_base_topic(cls, base: str | None) -> str | None:
        if base is None:
            return None
        if any(c in base for c in "+#\0") or base.startswith("/") or base.endswith("/"):
            raise ValueError("base_topic: no wildcards (+ #), no leading or trailing /")
        return base

    @field_validator("response_topics")
    @classmethod
    def _check_response_topics(cls, filters: list[str]) -> list[str]:
        for f in filters:
            levels = f.split("/")
            if not f or "\0" in f or levels[0] in ("", "+", "#") or any(
                ("+" in level or "#" in level) and level not in ("+", "#") for level in levels
            ) or "#" in levels[:-1]:
                raise ValueError(
                    f"response_topics: {f!r} is not a topic filter with a fixed first level "
                    "(e.g. backend/responses/#)"
                )
        return filters

    @model_validator(mode="after")
    def _check_combination(self) -> Self:
        if self.password_env is not None and self.password_file is not None:
            raise ValueError("set password_env or password_file, not both")
        if (self.password_env or self.password_file) and self.username is None:
            raise ValueError("a password needs a username")
        if self.tls is not None and not self.use_tls:
            raise ValueError("tls options need an mqtts:// url")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s is larger than reconnect_max_s")
        return self

    # -- derived values ------------------------------------------------------------------

    @property
    def use_tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        host = urlsplit(self.url).hostname
        assert host is not None  # checked by _check_url
        return host

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or DEFAULT_PORTS[parts.scheme]

    def topic_base(self, hall_id: str) -> str:
        return self.base_topic or f"hallctl/{hall_id}"

    def client_id_for(self, hall_id: str) -> str:
        return self.client_id or f"hallctl-{hall_id}"

    def forward_client_id_for(self, hall_id: str) -> str:
        """The forwarding connection's: its own, so a takeover of one leaves the other."""
        return f"{self.client_id_for(hall_id)}-fwd"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for mqtts:// (reads the CA and certificate files), else None."""
        if not self.use_tls:
            return None
        tls = self.tls or TlsSettings()
        context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file is not None and tls.key_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        if tls.insecure:
            context.check_hostname = False  # the chain is still verified
        return context

    def password(self) -> str | None:
        """Read the password now (at connect time, so a rotated secret is picked up).

        Raises `ValueError` naming the variable or file when it is configured but missing:
        connecting without it would only fail later with a less useful "not authorised".
        """
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ValueError(f"mqtt.password_env: environment variable "
                                 f"{self.password_env} is not set")
            return value
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"mqtt.password_file: cannot read {self.password_file}: "
                                 f"{exc.strerror}") from None
        return None
