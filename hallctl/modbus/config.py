"""Configuration of Modbus lines and devices, as mounted in the hall file under ``modbus:``.

```yaml
modbus:
  lines:
    - {id: rs485-1, port: /dev/ttyUSB0, baudrate: 9600}
  devices:
    - {id: eval-5, profile: modbus-evaluator, line: rs485-1, unit: 5, window: 5}
    - {id: led-main, profile: modbus-led-display, host: 10.0.0.20:502, unit: 1, window: 5}
```
A device names either an RTU ``line`` (devices on one line share its one client and its one
scheduler: RS-485 is half-duplex) or a TCP ``host`` (devices at the same host:port share
one connection, e.g. several units behind one gateway).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkSettings(_Model):
    """Timing and failure handling shared by RTU lines and TCP connections."""

    #: default per-device answer timeout, seconds
    timeout: float = Field(default=0.3, gt=0, le=30)
    #: extra attempts after a timeout (not after an exception answer: the device is alive)
    retries: int = Field(default=1, ge=0, le=5)
    #: consecutive failed transactions before a device is marked offline
    fail_threshold: int = Field(default=3, ge=1, le=100)
    #: an offline device is skipped this long, then probed once (one timeout at most)
    offline_backoff: float = Field(default=10.0, gt=0, le=3600)
    reconnect_delay: float = Field(default=1.0, gt=0)
    reconnect_delay_max: float = Field(default=30.0, gt=0)


class ModbusLineConfig(LinkSettings):
    """One RS-485 line (serial port) running Modbus RTU."""

    id: str = Field(min_length=1)
    port: str = Field(min_length=1)
    baudrate: int = Field(default=9600, gt=0)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    #: silence before each request, seconds; default 3.5 characters (1.75 ms above 19200 baud)
    frame_gap: float | None = Field(default=None, ge=0)

    def gap_seconds(self) -> float:
        if self.frame_gap is not None:
            return self.frame_gap
        if self.baudrate > 19200:
            return 0.00175  # fixed by the Modbus serial line spec above 19200 baud
        return 3.5 * 11 / self.baudrate


class ModbusDeviceConfig(_Model):
    """One Modbus device: the instance of a profile at an address, bound to the hall."""

    id: str = Field(min_length=1)
    profile: str = Field(min_length=1)
    line: str | None = None
    #: "host" or "host:port" (default port 502) for Modbus TCP
    host: str | None = None
    unit: int = Field(default=1, ge=0, le=247)
    window: int | None = None
    service: str | None = None
    #: a panel's buttons, in order: input templates use "{services[index]}"
    services: list[str] = Field(default_factory=list)
    #: more template values for this device's profile
    vars: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(default=None, gt=0, le=30)
    retries: int | None = Field(default=None, ge=0, le=5)
    max_gap: int | None = Field(default=None, ge=0, le=100)
    enabled: bool = True

    @model_validator(mode="after")
    def _one_link(self) -> ModbusDeviceConfig:
        if (self.line is None) == (self.host is None):
            raise ValueError("give exactly one of line (RTU) or host (TCP)")
        return self

    def tcp_address(self) -> tuple[str, int]:
        assert self.host is not None
        host, _, port = self.host.rpartition(":") if ":" in self.host else (self.host, "", "")
        return (host, int(port)) if port else (self.host, 502)

    def template_vars(self) -> dict[str, Any]:
        """What profile templates may name for this device."""
        return {
            **self.vars,
            "device": self.id,
            "unit": self.unit,
            "window": self.window,
            "service": self.service,
            "services": list(self.services),
        }


class ModbusConfig(_Model):
    lines: list[ModbusLineConfig] = Field(default_factory=list)
    devices: list[ModbusDeviceConfig] = Field(default_factory=list)
    #: settings for the implicit TCP links (one per host:port)
    tcp: LinkSettings = Field(default_factory=LinkSettings)
    #: extra directories searched for profiles before the built-in devices/
    profile_dirs: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_check(self) -> ModbusConfig:
        line_ids = [line.id for line in self.lines]
        if len(set(line_ids)) != len(line_ids):
            raise ValueError("line ids must be unique")
        ids = [d.id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ValueError("device ids must be unique")
        seen: set[tuple[str, int]] = set()
        for dev in self.devices:
            if dev.line is not None and dev.line not in line_ids:
                raise ValueError(f"device {dev.id}: no line {dev.line!r}")
            link = dev.line if dev.line is not None else "tcp:{}:{}".format(*dev.tcp_address())
            if dev.enabled and (link, dev.unit) in seen:
                raise ValueError(f"device {dev.id}: unit {dev.unit} already used on {link}")
            seen.add((link, dev.unit))
        return self
