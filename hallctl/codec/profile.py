"""Pydantic models of a serial frame profile (`devices/*.yaml` with `kind: serial-frame`).

A profile describes a vendor's wire format as an ordered list of segments (header, address,
length, function, data, checksum, trailer), plus the escape table, the acknowledgement rules,
the input mapping (frame -> hall action) and named output templates (params -> frame).
Adding a vendor with a framed protocol is a YAML file; see docs/device-profiles.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hallctl.codec.checksum import ChecksumName


def parse_hex(value: Any) -> bytes:
    """`"FF 68"`, `0x16`, `[0xFF, 0x68]` -> bytes; YAML authors write hex the way manuals do."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        raise ValueError("expected hex bytes like 'FF 68', got a boolean")
    if isinstance(value, int):
        if not 0 <= value <= 0xFF:
            raise ValueError(f"byte out of range: {value}")
        return bytes([value])
    if isinstance(value, list):
        return b"".join(parse_hex(v) for v in value)
    if isinstance(value, str):
        text = value.replace(" ", "").replace("0x", "").replace(",", "")
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"not hex bytes: {value!r} (write e.g. 'FF 68')") from None
    raise ValueError(f"expected hex bytes like 'FF 68', got {type(value).__name__}")


def parse_hex_byte(value: Any) -> int:
    """A single byte written as `0xA5`, `165` or `"A5"` (YAML map keys are often strings)."""
    raw = parse_hex(value)
    if len(raw) != 1:
        raise ValueError(f"expected one byte, got {value!r}")
    return raw[0]


HexBytes = Annotated[bytes, BeforeValidator(parse_hex)]
HexByte = Annotated[int, BeforeValidator(parse_hex_byte)]
Byte = Annotated[int, Field(ge=0, le=0xFF)]
Endian = Literal["big", "little"]

# The request vocabulary of docs/architecture.md that a device input may produce.
ACTIONS = frozenset(
    {
        "take_ticket",
        "open_window",
        "close_window",
        "pause_window",
        "resume_window",
        "call_next",
        "recall",
        "no_show",
        "start_service",
        "finish",
        "suspend",
        "call_back",
        "transfer",
        "request_evaluation",
        "evaluate",
        "staff_check_in",
        "staff_check_out",
        "reprint",
    }
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- frame layout ---------------------------------------------------------------------------


class ConstSegment(_Model):
    type: Literal["const"]
    name: str
    value: HexBytes


class AddressSegment(_Model):
    type: Literal["address"]
    name: str = "address"
    size: int = Field(1, ge=1, le=4, description="bytes on the wire (characters for ascii)")
    endian: Endian = "big"
    format: Literal["binary", "bcd", "ascii"] = "binary"
    broadcast: int | None = None


class LengthSegment(_Model):
    type: Literal["length"]
    name: str = "length"
    size: int = Field(1, ge=1, le=4)
    endian: Endian = "big"
    counts: list[str] = Field(min_length=1, description="segments whose bytes are counted")
    offset: int = Field(0, description="value on the wire = counted bytes + offset")
    repeat: int = Field(1, ge=1, le=2, description="2: sent twice, both copies must agree")


class FunctionSegment(_Model):
    type: Literal["function"]
    name: str = "function"
    size: int = Field(1, ge=1, le=2)


class DataSegment(_Model):
    type: Literal["data"]
    name: str = "data"
    size: int | None = Field(None, ge=0, description="fixed size; else from length or trailer")
    max: int = Field(255, ge=0, description="longest acceptable data; longer frames are bad")


class ChecksumSegment(_Model):
    type: Literal["checksum"]
    name: str = "checksum"
    algorithm: ChecksumName
    covers: list[str] = Field(min_length=1, description="segments summed, in frame order")
    endian: Endian = "little"


Segment = Annotated[
    ConstSegment | AddressSegment | LengthSegment | FunctionSegment | DataSegment | ChecksumSegment,
    Field(discriminator="type"),
]


class Escape(_Model):
    """Byte stuffing applied to every byte between the header and the trailer."""

    table: dict[HexByte, HexBytes]

    @model_validator(mode="after")
    def _prefix_free(self) -> Escape:
        for src, seq in self.table.items():
            if not seq:
                raise ValueError(f"escape of {src:02X} is empty")
        return self


# ---- acknowledgement, inputs, outputs -------------------------------------------------------


class AckRule(_Model):
    """How a received frame is acknowledged: echo it, reply with a function, or not at all."""

    mode: Literal["none", "echo", "reply"] = "none"
    function: int | None = None
    echo_data: list[int] | Literal["all"] = Field(
        default_factory=list, description="data indices copied into the reply (or 'all')"
    )

    @model_validator(mode="after")
    def _reply_needs_function(self) -> AckRule:
        if self.mode == "reply" and self.function is None:
            raise ValueError("ack mode 'reply' needs 'function'")
        return self


OneOrMany = int | list[int]


class InputMatch(_Model):
    """All given conditions must hold. Data indices may be negative (from the end)."""

    function: OneOrMany | None = None
    function_not: OneOrMany | None = None
    data: dict[int, OneOrMany] = Field(default_factory=dict)
    min_data: int = 0


class FieldFrom(_Model):
    """A request field taken from a data byte, optionally through a lookup table."""

    data_index: int
    map: dict[int, int | str] | None = None


class InputRule(_Model):
    match: InputMatch
    action: str | None = Field(description="request action; null = acknowledge and ignore")
    fields: dict[str, int | str | bool | FieldFrom] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_action(self) -> InputRule:
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; known: {sorted(ACTIONS)}")
        return self


ItemType = Literal["hex", "u8", "u16le", "u16be", "u32le", "u32be", "bcd", "digits", "text"]


class DataItem(_Model):
    """One piece of an output frame's data: a constant, a parameter, or a length of an item."""

    type: ItemType
    name: str | None = None
    value: int | str | None = None
    param: str | None = None
    length_of: str | list[str] | None = Field(
        None,
        description="the byte length of the item with this name, or of the items from the "
        "first name through the second ([area, text]: an area block)",
    )
    width: int | None = Field(None, ge=1, description="digits: count; bcd: bytes; text: max")
    blank: Byte = Field(0x0A, description="digits: the cell code of an empty cell")
    pad: Byte | None = Field(
        None, description="digits: the cell code that fills a shorter number; default: blank"
    )
    align: Literal["left", "right"] = "right"

    @model_validator(mode="after")
    def _one_source(self) -> DataItem:
        sources = [s for s in (self.value, self.param, self.length_of) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of value, param, length_of")
        if self.type == "hex" and self.param is not None:
            raise ValueError("hex items are constants: use value")
        if self.length_of is not None and self.type not in (
            "u8",
            "u16le",
            "u16be",
            "u32le",
            "u32be",
        ):
            raise ValueError("length_of needs an integer item type (u8, u16le, ...)")
        if self.type == "digits" and self.width is None:
            raise ValueError("digits needs width")
        return self


class ParamSpec(_Model):
    type: Literal["int", "str"] = "int"
    default: int | str | None = None
    required: bool = True


class OutputTemplate(_Model):
    description: str = ""
    function: int | None = None
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    data: list[DataItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs(self) -> OutputTemplate:
        names = {i.name for i in self.data if i.name}
        for item in self.data:
            if item.param is not None and item.param not in self.params:
                raise ValueError(f"item uses undeclared param {item.param!r}")
            if item.length_of is None:
                continue
            refs = [item.length_of] if isinstance(item.length_of, str) else item.length_of
            if not 1 <= len(refs) <= 2:
                raise ValueError("length_of is an item name or [first, last]")
            for ref in refs:
                if ref not in names:
                    raise ValueError(f"length_of refers to unknown item {ref!r}")
            order = [i.name for i in self.data]
            if len(refs) == 2 and order.index(refs[0]) > order.index(refs[1]):
                raise ValueError(f"length_of span {refs} runs backwards")
        return self


class SerialDefaults(_Model):
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 2] = 1


# ---- the profile ----------------------------------------------------------------------------


class FrameProfile(_Model):
    kind: Literal["serial-frame"]
    name: str
    description: str = ""
    serial: SerialDefaults = SerialDefaults()
    encoding: Literal["ascii", "gb2312", "gb18030"] = "ascii"
    frame: list[Segment] = Field(min_length=2)
    escape: Escape | None = None
    max_frame: int = Field(1024, ge=4, description="bytes; a longer partial frame is dropped")
    ack: AckRule = AckRule()
    device_ack: AckRule = Field(AckRule(), description="how the device answers host frames")
    inputs: list[InputRule] = Field(default_factory=list)
    outputs: dict[str, OutputTemplate] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _layout(self) -> FrameProfile:
        names = [s.name for s in self.frame]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"frame: duplicate segment names {sorted(dupes)}")
        if not isinstance(self.frame[0], ConstSegment):
            raise ValueError("frame: the first segment must be a const header")
        for kind in ("address", "length", "function", "data", "checksum"):
            if sum(1 for s in self.frame if s.type == kind) > 1:
                raise ValueError(f"frame: at most one {kind} segment")
        for seg in self.frame:
            refs = (
                seg.counts
                if isinstance(seg, LengthSegment)
                else (seg.covers if isinstance(seg, ChecksumSegment) else [])
            )
            for ref in refs:
                if ref not in names:
                    raise ValueError(f"frame: segment {seg.name!r} refers to unknown {ref!r}")
                if ref == seg.name:
                    raise ValueError(f"frame: segment {seg.name!r} refers to itself")
        self._check_data_is_delimited(names)
        if self.escape is not None:
            header = self.frame[0]
            assert isinstance(header, ConstSegment)
            if not isinstance(self.frame[-1], ConstSegment):
                raise ValueError("escape: needs a const trailer as the last segment")
            trailer = self.frame[-1].value
            for b in {header.value[0], trailer[0]}:
                if b not in self.escape.table:
                    raise ValueError(f"escape: table must escape the frame byte {b:02X}")
        return self

    def _check_data_is_delimited(self, names: list[str]) -> None:
        data = self.segment("data")
        if not isinstance(data, DataSegment) or data.size is not None:
            return
        length = self.segment("length")
        if isinstance(length, LengthSegment) and "data" in length.counts:
            idx_len, idx_data = names.index(length.name), names.index("data")
            if idx_len > idx_data:
                raise ValueError("frame: the length segment must come before data")
            return
        idx = names.index("data")
        nxt = self.frame[idx + 1] if idx + 1 < len(self.frame) else None
        if not isinstance(nxt, ConstSegment):
            raise ValueError(
                "frame: data without size or length must be followed by a const terminator"
            )

    def segment(self, name: str) -> Any:
        for seg in self.frame:
            if seg.name == name or seg.type == name:
                return seg
        return None

    @property
    def header(self) -> bytes:
        first = self.frame[0]
        assert isinstance(first, ConstSegment)
        return first.value
