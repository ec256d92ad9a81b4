"""A simulated ESC/POS ticket printer on a pty: answers DLE EOT status at once (settable
paper out, cover open, offline) and decodes what it printed with our own decoder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hallctl.codec.escpos_decode import DecodedTicket, decode_tickets
from hallctl.codec.escpos_status import PrinterStatus, encode_status
from hallctl.sim.pty_port import PtyPort


class PrinterSim:
    def __init__(self, link: Path) -> None:
        self.port = PtyPort(link, self._on_bytes)
        self.status = PrinterStatus()
        self.printed = bytearray()  # print data, real-time commands removed
        self.dropped = 0  # bytes that arrived while the paper was out
        self._tail = b""

    @property
    def link(self) -> Path:
        return self.port.link

    def start(self) -> None:
        self.port.plug()

    def close(self) -> None:
        self.port.unplug()

    @property
    def paper_out(self) -> bool:
        return self.status.paper_out

    @paper_out.setter
    def paper_out(self, value: bool) -> None:
        self.status = replace(self.status, paper_out=value)

    @property
    def tickets(self) -> list[DecodedTicket]:
        """Tickets completed by a cut, oldest first."""
        return decode_tickets(bytes(self.printed))[:-1]

    def _on_bytes(self, data: bytes) -> None:
        # DLE EOT n is real-time: answered as it arrives, even in the middle of print data
        buf = self._tail + data
        self._tail = b""
        i = 0
        out = bytearray()
        while i < len(buf):
            if buf[i] == 0x10 and buf[i + 1 : i + 2] == b"\x04":
                if i + 2 >= len(buf):
                    self._tail = buf[i:]
                    break
                self.port.write(bytes([encode_status(buf[i + 2], self.status)]))
                i += 3
                continue
            if buf[i] == 0x10 and i + 1 == len(buf):
                self._tail = buf[i:]
                break
            out.append(buf[i])
            i += 1
        if self.status.paper_out:
            self.dropped += len(out)  # a stopped printer prints nothing
        else:
            self.printed += out
