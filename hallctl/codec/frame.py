"""Frames on the wire: encode one from its fields, decode a byte stream incrementally.

The decoder never raises on input. It resynchronises on the next header after garbage, a
truncated frame, a bad checksum or a wrong length, and counts every rejected frame by reason
in `stats`. A candidate frame that swallows the header of a complete valid frame is rejected
("overlap"/"truncated"): a frame cut short on the wire must not eat the good frame after it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import Enum

from hallctl.codec.checksum import ALGORITHMS, checksum_bytes
from hallctl.codec.profile import (
    AddressSegment,
    ChecksumSegment,
    ConstSegment,
    DataSegment,
    FrameProfile,
    FunctionSegment,
    LengthSegment,
    Segment,
)


class EncodeError(ValueError):
    """A frame could not be built from the given fields (host-side programming/config error)."""


@dataclass(frozen=True, slots=True)
class Frame:
    address: int | None
    function: int | None
    data: bytes
    raw: bytes  # exactly as on the wire (escaped), e.g. for an echo acknowledgement


# ---- field helpers --------------------------------------------------------------------------


def _fixed_size(seg: Segment) -> int | None:
    if isinstance(seg, ConstSegment):
        return len(seg.value)
    if isinstance(seg, LengthSegment):
        return seg.size * seg.repeat
    if isinstance(seg, ChecksumSegment):
        return ALGORITHMS[seg.algorithm].width
    if isinstance(seg, DataSegment):
        return seg.size
    return seg.size


def encode_address(seg: AddressSegment, value: int) -> bytes:
    if seg.format == "binary":
        if not 0 <= value < 256**seg.size:
            raise EncodeError(f"address {value} does not fit {seg.size} byte(s)")
        return value.to_bytes(seg.size, seg.endian)
    if seg.format == "ascii":
        text = str(value).zfill(seg.size)
        if len(text) != seg.size or value < 0:
            raise EncodeError(f"address {value} does not fit {seg.size} ASCII digit(s)")
        return text.encode("ascii")
    digits = str(value).zfill(seg.size * 2)
    if len(digits) != seg.size * 2 or value < 0:
        raise EncodeError(f"address {value} does not fit {seg.size} BCD byte(s)")
    raw = bytes.fromhex(digits)
    return raw if seg.endian == "big" else raw[::-1]


def decode_address(seg: AddressSegment, raw: bytes) -> int | None:
    if seg.format == "binary":
        return int.from_bytes(raw, seg.endian)
    if seg.format == "ascii":
        return int(raw) if raw.isdigit() else None
    text = (raw if seg.endian == "big" else raw[::-1]).hex()
    return int(text) if text.isdigit() else None


def _terminator(profile: FrameProfile) -> bytes | None:
    """The const that ends a data segment that has neither a size nor a length field."""
    segs = profile.frame
    for k, seg in enumerate(segs):
        if isinstance(seg, DataSegment) and seg.size is None:
            length = profile.segment("length")
            if isinstance(length, LengthSegment) and seg.name in length.counts:
                return None
            nxt = segs[k + 1] if k + 1 < len(segs) else None
            return nxt.value if isinstance(nxt, ConstSegment) else None
    return None


def _escape(profile: FrameProfile, region: bytes) -> bytes:
    assert profile.escape is not None
    table = profile.escape.table
    return b"".join(table.get(b, bytes([b])) for b in region)


def _unescape(profile: FrameProfile, region: bytes) -> bytes | None:
    assert profile.escape is not None
    table = profile.escape.table
    reverse = {seq: src for src, seq in table.items()}
    leads = {seq[0] for seq in reverse}
    out = bytearray()
    i = 0
    while i < len(region):
        b = region[i]
        if b in leads:
            for seq, src in reverse.items():
                if region.startswith(seq, i):
                    out.append(src)
                    i += len(seq)
                    break
            else:
                return None
        elif b in table:
            return None  # a byte that must be escaped appears raw
        else:
            out.append(b)
            i += 1
    return bytes(out)


# ---- encoder --------------------------------------------------------------------------------


def encode_frame(
    profile: FrameProfile,
    *,
    address: int | None = None,
    function: int | None = None,
    data: bytes = b"",
) -> bytes:
    """Build one frame; length and checksum are computed, escaping applied."""
    spans: dict[str, bytes] = {}
    for seg in profile.frame:
        if isinstance(seg, ConstSegment):
            spans[seg.name] = seg.value
        elif isinstance(seg, AddressSegment):
            if address is None:
                raise EncodeError("this profile's frames need an address")
            spans[seg.name] = encode_address(seg, address)
        elif isinstance(seg, FunctionSegment):
            if function is None or not 0 <= function < 256**seg.size:
                raise EncodeError(f"function {function!r} does not fit {seg.size} byte(s)")
            spans[seg.name] = function.to_bytes(seg.size, "big")
        elif isinstance(seg, DataSegment):
            if seg.size is not None and len(data) != seg.size:
                raise EncodeError(f"data must be {seg.size} bytes, got {len(data)}")
            if len(data) > seg.max:
                raise EncodeError(f"data of {len(data)} bytes exceeds max {seg.max}")
            term = _terminator(profile)
            if term is not None and term in data:
                raise EncodeError(f"data must not contain the terminator {term.hex(' ')}")
            spans[seg.name] = data
    for seg in profile.frame:
        if isinstance(seg, ChecksumSegment):
            spans[seg.name] = bytes(ALGORITHMS[seg.algorithm].width)  # size only, for lengths
    for seg in profile.frame:
        if isinstance(seg, LengthSegment):
            value = sum(len(spans[n]) for n in seg.counts) + seg.offset
            if not 0 <= value < 256**seg.size:
                raise EncodeError(f"length {value} does not fit {seg.size} byte(s)")
            spans[seg.name] = value.to_bytes(seg.size, seg.endian) * seg.repeat
    for seg in profile.frame:
        if isinstance(seg, ChecksumSegment):
            covered = b"".join(spans[s.name] for s in profile.frame if s.name in seg.covers)
            spans[seg.name] = checksum_bytes(seg.algorithm, covered, seg.endian)
    wire = [spans[s.name] for s in profile.frame]
    if profile.escape is None:
        return b"".join(wire)
    return wire[0] + _escape(profile, b"".join(wire[1:-1])) + wire[-1]


# ---- decoder --------------------------------------------------------------------------------


class _St(Enum):
    OK = 1
    BAD = 2
    INCOMPLETE = 3


@dataclass(frozen=True, slots=True)
class _Result:
    status: _St
    frame: Frame | None = None
    end: int = 0
    reason: str = ""


_INCOMPLETE = _Result(_St.INCOMPLETE)


def _bad(reason: str) -> _Result:
    return _Result(_St.BAD, reason=reason)


class FrameDecoder:
    """Incremental decoder: `feed(bytes) -> list[Frame]`; bad frames counted in `stats`."""

    def __init__(self, profile: FrameProfile) -> None:
        self.profile = profile
        self.stats: Counter[str] = Counter()
        self._buf = b""
        self._header = profile.header

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        buf, pos = self._buf, 0
        while True:
            p = buf.find(self._header, pos)
            if p < 0:
                keep = self._partial_header_tail(buf, pos)
                self.stats["noise_bytes"] += len(buf) - pos - keep
                pos = len(buf) - keep
                break
            self.stats["noise_bytes"] += p - pos
            res = self._parse_at(buf, p)
            if res.status is _St.OK:
                assert res.frame is not None
                if self._valid_frame_within(buf, p + 1, res.end):
                    self.stats["overlap"] += 1
                    pos = p + 1
                    continue
                frames.append(res.frame)
                self.stats["frames"] += 1
                pos = res.end
            elif res.status is _St.BAD:
                self.stats[res.reason] += 1
                pos = p + 1
            else:
                if self._valid_frame_within(buf, p + 1, len(buf)):
                    self.stats["truncated"] += 1
                    pos = p + 1
                elif len(buf) - p > self.profile.max_frame:
                    self.stats["too_long"] += 1
                    pos = p + 1
                else:
                    pos = p
                    break
        self._buf = buf[pos:]
        return frames

    def flush(self) -> None:
        """Drop a pending partial frame (the port closed: what follows is a new stream)."""
        if self._buf.startswith(self._header):
            self.stats["truncated"] += 1
        elif self._buf:
            self.stats["noise_bytes"] += len(self._buf)
        self._buf = b""

    @property
    def pending(self) -> int:
        return len(self._buf)

    def bad_frames(self) -> int:
        return sum(v for k, v in self.stats.items() if k not in ("frames", "noise_bytes"))

    # ---- internals ----

    def _partial_header_tail(self, buf: bytes, pos: int) -> int:
        for k in range(min(len(self._header) - 1, len(buf) - pos), 0, -1):
            if self._header.startswith(buf[-k:]):
                return k
        return 0

    def _valid_frame_within(self, buf: bytes, start: int, stop: int) -> bool:
        q = buf.find(self._header, start, stop)
        while q >= 0:
            if self._parse_at(buf, q).status is _St.OK:
                return True
            q = buf.find(self._header, q + 1, stop)
        return False

    def _parse_at(self, buf: bytes, p: int) -> _Result:
        if self.profile.escape is None:
            return self._parse_plain(buf, p)
        trailer = self.profile.frame[-1]
        assert isinstance(trailer, ConstSegment)
        h = len(self._header)
        j = buf.find(trailer.value, p + h)
        if j < 0:
            return _bad("too_long") if len(buf) - p > self.profile.max_frame else _INCOMPLETE
        region = buf[p + h : j]
        if self._header[0] in region:
            return _bad("truncated")  # a new frame started before this one ended
        plain = _unescape(self.profile, region)
        if plain is None:
            return _bad("escape")
        synthetic = self._header + plain + trailer.value
        res = self._parse_plain(synthetic, 0)
        if res.status is _St.INCOMPLETE or (res.status is _St.OK and res.end != len(synthetic)):
            return _bad("length")
        if res.status is _St.BAD:
            return res
        assert res.frame is not None
        end = j + len(trailer.value)
        f = res.frame
        return _Result(_St.OK, Frame(f.address, f.function, f.data, buf[p:end]), end)

    def _parse_plain(self, buf: bytes, p: int) -> _Result:
        segs = self.profile.frame
        spans: dict[str, bytes] = {}
        address: int | None = None
        function: int | None = None
        data_len: int | None = None
        length_check: tuple[LengthSegment, int] | None = None
        i = p
        for k, seg in enumerate(segs):
            n = _fixed_size(seg)
            if isinstance(seg, DataSegment) and n is None:
                n = data_len
                if n is None:  # delimited by the following const (validated in the profile)
                    term = segs[k + 1]
                    assert isinstance(term, ConstSegment)
                    j = buf.find(term.value, i, i + seg.max + len(term.value))
                    if j < 0:
                        too_long = len(buf) - i >= seg.max + len(term.value)
                        return _bad("too_long") if too_long else _INCOMPLETE
                    n = j - i
            assert n is not None
            if len(buf) < i + n:
                return _INCOMPLETE
            chunk = buf[i : i + n]
            i += n
            spans[seg.name] = chunk
            if isinstance(seg, ConstSegment):
                if chunk != seg.value:
                    return _bad("framing")
            elif isinstance(seg, AddressSegment):
                address = decode_address(seg, chunk)
                if address is None:
                    return _bad("address")
            elif isinstance(seg, FunctionSegment):
                function = int.from_bytes(chunk, "big")
            elif isinstance(seg, DataSegment):
                if len(chunk) > seg.max:
                    return _bad("length")
            elif isinstance(seg, LengthSegment):
                value = int.from_bytes(chunk[: seg.size], seg.endian)
                if seg.repeat == 2 and chunk[: seg.size] != chunk[seg.size :]:
                    return _bad("length")
                data_seg = self.profile.segment("data")
                if data_seg is not None and data_seg.name in seg.counts and data_seg.size is None:
                    others = sum(_fixed_size(self.profile.segment(c)) or 0 for c in seg.counts)
                    data_len = value - seg.offset - others
                    if not 0 <= data_len <= data_seg.max:
                        return _bad("length")
                else:
                    length_check = (seg, value)
        if length_check is not None:
            seg, value = length_check
            if value != sum(len(spans[c]) for c in seg.counts) + seg.offset:
                return _bad("length")
        for seg in segs:
            if isinstance(seg, ChecksumSegment):
                covered = b"".join(spans[s.name] for s in segs if s.name in seg.covers)
                if checksum_bytes(seg.algorithm, covered, seg.endian) != spans[seg.name]:
                    return _bad("checksum")
        data_seg = self.profile.segment("data")
        data = spans[data_seg.name] if data_seg is not None else b""
        return _Result(_St.OK, Frame(address, function, data, buf[p:i]), i)
