"""Read ESC/POS bytes back into what a printer would print, and printer status bytes.

No published decoder handles GB18030 Chinese mode, and tests and the printer simulator need
to see the ticket, so this is a small interpreter of the commands hall tickets use. Unknown
commands are skipped by their usual length; it never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10


@dataclass(frozen=True, slots=True)
class PrintedLine:
    text: str
    width: int = 1  # magnification
    height: int = 1
    align: str = "left"


@dataclass(slots=True)
class DecodedTicket:
    lines: list[PrintedLine] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    cuts: int = 0
    status_requests: list[int] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


@dataclass(slots=True)
class _State:
    align: str = "left"
    width: int = 1
    height: int = 1
    chinese: bool = False
    qr_store: bytes = b""


_ALIGNS = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


def _decode_text(raw: bytes, chinese: bool) -> str:
    return raw.decode("gb18030" if chinese else "cp437", errors="replace")


def decode_tickets(data: bytes) -> list[DecodedTicket]:
    """Split at every cut; the last ticket is the uncut remainder (possibly empty)."""
    tickets = [DecodedTicket()]
    st = _State()
    line: list[str] = []  # decoded as it arrives: FS . may come before the LF
    line_attrs: tuple[int, int, str] | None = None

    def flush() -> None:
        nonlocal line_attrs
        if line or line_attrs is not None:
            w, h, a = line_attrs or (st.width, st.height, st.align)
            tickets[-1].lines.append(PrintedLine("".join(line), w, h, a))
        line.clear()
        line_attrs = None

    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b >= 0x20:
            if line_attrs is None:
                line_attrs = (st.width, st.height, st.align)
            j = i
            while j < n and data[j] >= 0x20:
                j += 1
            line.append(_decode_text(data[i:j], st.chinese))
            i = j
            continue
        if b == 0x0A:
            flush()
            i += 1
        elif b == ESC and i + 1 < n:
            cmd = data[i + 1]
            if cmd == 0x40:  # ESC @
                st = _State(chinese=False)
                i += 2
            elif cmd == 0x61 and i + 2 < n:  # ESC a n
                st.align = _ALIGNS.get(data[i + 2], "left")
                i += 3
            elif cmd == 0x21 and i + 2 < n:  # ESC ! n: bit 4 double height, bit 5 double width
                st.height = 2 if data[i + 2] & 0x10 else 1
                st.width = 2 if data[i + 2] & 0x20 else 1
                i += 3
            elif cmd == 0x64 and i + 2 < n:  # ESC d n: feed
                flush()
                i += 3
            else:
                i += 3  # ESC x n: the common shape of the rest
        elif b == GS and i + 1 < n:
            cmd = data[i + 1]
            if cmd == 0x21 and i + 2 < n:  # GS ! n
                st.width = (data[i + 2] >> 4) + 1
                st.height = (data[i + 2] & 0x0F) + 1
                i += 3
            elif cmd == 0x28 and i + 4 < n:  # GS ( x pL pH ...
                length = data[i + 3] | (data[i + 4] << 8)
                body = data[i + 5 : i + 5 + length]
                if data[i + 2] == 0x6B and len(body) >= 2 and body[0] == 49:
                    if body[1] == 80:
                        st.qr_store = body[3:]
                    elif body[1] == 81:
                        tickets[-1].qr.append(st.qr_store.decode("utf-8", errors="replace"))
                i += 5 + length
            elif cmd == 0x56 and i + 2 < n:  # GS V m [n]
                flush()
                tickets[-1].cuts += 1
                tickets.append(DecodedTicket())
                i += 4 if data[i + 2] in (65, 66, 97, 98, 103, 104) else 3
            else:
                i += 3
        elif b == FS and i + 1 < n:
            cmd = data[i + 1]
            if cmd == 0x26:
                st.chinese = True
                i += 2
            elif cmd == 0x2E:
                st.chinese = False
                i += 2
            else:
                i += 3  # FS ! n, FS C n, ...
        elif b == DLE and i + 2 < n and data[i + 1] == 0x04:
            tickets[-1].status_requests.append(data[i + 2])
            i += 3
        else:
            i += 1  # CR, HT and lone control bytes
    flush()
    return tickets


def decode_escpos(data: bytes) -> DecodedTicket:
    """Everything in `data` as one ticket (lines, QR payloads, cut count)."""
    merged = DecodedTicket()
    for t in decode_tickets(data):
        merged.lines += t.lines
        merged.qr += t.qr
        merged.cuts += t.cuts
        merged.status_requests += t.status_requests
    return merged
