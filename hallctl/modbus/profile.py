"""Register-map profiles (``devices/modbus-*.yaml``): what a kind of Modbus device is.

A profile is the device *type* (EdgeX-style): its points (named registers or bits), how
often to poll which points, which changes become hall requests (``inputs``), which hall
events become writes (``outputs``) and what it should show for the current hall state
(``render``). The device *instance* (line, unit, bound window) is ``ModbusDeviceConfig``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from hallctl.yamlfile import located_errors

Table = Literal["coil", "discrete", "input", "holding"]
PointType = Literal["u16", "i16", "u32", "i32", "f32", "bool", "bits", "text"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(_Model):
    """One named value in the device's register map."""

    table: Table
    address: int = Field(ge=0, le=65535)
    type: PointType = "u16"
    #: registers for ``text`` / ``bits``; bits for an array of coils / discrete inputs
    count: int = Field(default=1, ge=1, le=2000)
    #: 32-bit values: ``big`` = high word first (ABCD), ``little`` = low word first (CDAB)
    word_order: Literal["big", "little"] = "big"
    #: text: which byte of a register holds the first character
    byte_order: Literal["big", "little"] = "big"
    encoding: Literal["ascii", "gb2312", "gb18030"] = "ascii"
    pad: str = Field(default=" ", min_length=1, max_length=1)
    #: a single bit of a register (``type: bool`` on input/holding registers)
    bit: int | None = Field(default=None, ge=0, le=15)
    #: engineering value = raw * scale
    scale: float = 1.0

    @model_validator(mode="after")
    def _check_shape(self) -> Point:
        bit_table = self.table in ("coil", "discrete")
        if bit_table and self.type not in ("bool", "bits"):
            raise ValueError(f"a {self.table} point is type bool or bits, not {self.type}")
        if bit_table and self.type == "bool" and self.count != 1:
            raise ValueError("a bool point has count 1; use type bits for an array")
        if (
            not bit_table
            and self.type in ("u16", "i16", "u32", "i32", "f32", "bool")
            and (self.count != 1)
        ):
            raise ValueError(f"count applies to text and bits, not {self.type}")
        if self.bit is not None and (bit_table or self.type != "bool"):
            raise ValueError("bit selects one bit of a register: use it with type bool")
        end = self.address + self.span - 1
        if end > 65535:
            raise ValueError("the point runs past address 65535")
        return self

    @property
    def span(self) -> int:
        """How many registers (or bits, for coil/discrete) the point occupies."""
        if self.table in ("coil", "discrete") or self.type in ("text", "bits"):
            return self.count
        return 2 if self.type in ("u32", "i32", "f32") else 1

    @property
    def writable(self) -> bool:
        return self.table in ("coil", "holding")


class PollGroup(_Model):
    points: list[str] = Field(min_length=1)
    #: seconds between two reads of these points
    period: float = Field(gt=0)


class InputRule(_Model):
    """A change of a point that becomes a hall request."""

    point: str
    #: change: any change; rise: from 0/false to non-zero; latched: every non-zero read
    #: is a new press and the host clears it by writing ``clear``
    trigger: Literal["change", "rise", "latched"] = "rise"
    #: raw value -> ``mapped`` in the request template; values not listed are ignored
    map: dict[int, Any] | None = None
    request: dict[str, Any]
    clear: Any = None

    @model_validator(mode="after")
    def _check(self) -> InputRule:
        if self.trigger == "latched" and self.clear is None:
            raise ValueError("a latched input needs clear: the value that releases the latch")
        if "action" not in self.request:
            raise ValueError("request needs an action")
        return self


class Write(_Model):
    point: str
    value: Any


class OutputRule(_Model):
    """A hall event that becomes writes."""

    on: list[str] = Field(min_length=1)
    #: event data fields that must equal these (templated) values, e.g. window: "{window}"
    match: dict[str, Any] = Field(default_factory=dict)
    write: list[Write] = Field(min_length=1)


class RenderRule(_Model):
    """What the device shows for the current hall state; written after (re)connect and
    whenever one of ``on`` happens, and only when it differs from what was written."""

    state: str  # retained-state key, templated: "state/windows/{window}"
    on: list[str] = Field(default_factory=list)  # empty: after every event
    write: list[Write] = Field(min_length=1)


class ModbusProfile(_Model):
    profile: str
    description: str = ""
    #: registers (or bits) of unused addresses one read may bridge to save a transaction;
    #: 0 for devices that answer an exception to any unmapped address
    max_gap: int = Field(default=0, ge=0, le=100)
    max_read_registers: int = Field(default=125, ge=1, le=125)
    max_read_bits: int = Field(default=2000, ge=1, le=2000)
    points: dict[str, Point]
    poll: list[PollGroup] = Field(default_factory=list)
    inputs: list[InputRule] = Field(default_factory=list)
    outputs: list[OutputRule] = Field(default_factory=list)
    render: list[RenderRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_refs(self) -> ModbusProfile:
        polled: set[str] = set()
        for group in self.poll:
            for name in group.points:
                self._need(name, "poll")
                polled.add(name)
        for rule in self.inputs:
            self._need(rule.point, "inputs")
            if rule.point not in polled:
                raise ValueError(f"input point {rule.point!r} is in no poll group")
            point = self.points[rule.point]
            if rule.trigger == "latched" and not point.writable:
                raise ValueError(f"latched point {rule.point!r} is read-only: cannot clear it")
            if rule.trigger == "latched" and point.table == "holding" and point.type == "bits":
                raise ValueError(
                    f"latched point {rule.point!r}: register bits cannot be "
                    "cleared one at a time; use coils or one register a key"
                )
        for writes, where in [(o.write, "outputs") for o in self.outputs] + [
            (r.write, "render") for r in self.render
        ]:
            for w in writes:
                self._need(w.point, where)
                if not self.points[w.point].writable:
                    raise ValueError(f"{where}: point {w.point!r} is read-only")
        return self

    def _need(self, name: str, where: str) -> None:
        if name not in self.points:
            raise ValueError(f"{where}: no point named {name!r}")


class ProfileError(ValueError):
    """A profile file is missing or invalid; the message names the file, field and line."""


def parse_profile(text: str, source: str = "<profile>") -> ModbusProfile:
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ProfileError(f"{source}: not valid YAML: {exc}") from exc
    try:
        return ModbusProfile.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{source}: {path}" + (f" (line {line})" if line else "") + f": {msg}"
            for path, line, msg in located_errors(data, exc)
        ]
        raise ProfileError("\n".join(lines)) from exc


def load_profile(name: str, search: list[Path] | None = None) -> ModbusProfile:
    """Load a profile by path, or by name (``modbus-evaluator``) from ``search`` dirs and
    the built-in ``devices/`` directory."""
    candidates = [Path(name)]
    # the same search path as frame profiles: $HALLCTL_DEVICES_PATH, devices/, packaged copy
    from hallctl.codec.loader import default_profile_dirs

    for directory in [*(search or []), *default_profile_dirs()]:
        candidates += [directory / name, directory / f"{name}.yaml"]
    for path in candidates:
        if path.is_file():
            return parse_profile(path.read_text(encoding="utf-8"), str(path))
    raise ProfileError(f"no Modbus profile {name!r} (looked in {[str(c) for c in candidates]})")
