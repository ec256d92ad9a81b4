"""What the journal takes and gives back: pending events in, records out, and the JSON text
an event's data is stored as."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Final, NamedTuple

__all__ = ["EncodedEvent", "PendingEvent", "Record", "encode_json", "json_string"]

# A named tuple: the engine makes one for every event, and as a frozen dataclass it took three
# times as long to make.


class PendingEvent(NamedTuple):
    """An event the engine hands to the journal; ``data`` is JSON text of an object."""

    id: str
    type: str
    ts: str
    day: str
    request_id: str | None
    v: int
    data: str


@dataclass(frozen=True, slots=True)
class Record:
    """A durable event as readers get it back, with its journal ``seq``."""

    seq: int
    id: str
    type: str
    ts: str
    day: str
    request_id: str | None
    v: int
    data: str

    def envelope(self, hall: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "hall": hall,
            "type": self.type,
            "ts": self.ts,
            "v": self.v,
            "data": json.loads(self.data),
        }

    def envelope_json(self, hall: str) -> bytes:
        # Hot path of forwarding: splice the stored data text in instead of parsing it and
        # dumping it again. append() guarantees `data` is a valid JSON object.
        return (
            f'{{"id":{json_string(self.id)},"seq":{self.seq},"hall":{json_string(hall)},'
            f'"type":{json_string(self.type)},"ts":{json_string(self.ts)},"v":{self.v},'
            f'"data":{self.data}}}'
        ).encode()


class EncodedEvent(PendingEvent):
    """An event whose ``data`` :meth:`encode` made from a dict: JSON object text by construction,
    so :meth:`Journal.append` need not decode it again to check it."""

    __slots__ = ()

    @classmethod
    def encode(
        cls,
        id: str,
        type: str,
        ts: str,
        day: str,
        request_id: str | None,
        v: int,
        data: dict[str, Any],
    ) -> EncodedEvent:
        if not isinstance(data, dict):
            raise TypeError(f"event {id}: data must be a dict, not {data.__class__.__name__}")
        return cls(id, type, ts, day, request_id, v, encode_json(data))


def _json_encoder() -> Callable[[Any], str]:
    """Compact JSON text, non-ASCII kept, NaN and Infinity refused (ValueError): they are no
    JSON, the one way the encoder could make bad text.

    The C encoder ``json.dumps`` sets up anew on every call, made once: 2 µs an event instead
    of 3.7 (the engine encodes every event and every answer it keeps). Same text as
    ``json.dumps(..., ensure_ascii=False, separators=(",", ":"), allow_nan=False)``.
    """
    slow = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    if c_make_encoder is None:  # no C accelerator (another Python implementation)
        return slow
    # markers None: no cycle check (a cycle would recurse until RecursionError, also an error)
    chunks = c_make_encoder(None, _unencodable, json_string, None, ":", ",", False, False, False)

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


# A str as JSON string text: the C string encoder behind json.dumps(ensure_ascii=False),
# without its per-call set-up.
json_string: Final = encode_basestring
encode_json: Final = _json_encoder()
