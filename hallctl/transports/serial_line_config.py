"""The settings of one serial line, apart from the line's code.

The hall file's models import this; the line itself (pyserial, the asyncio serial transport,
the frame decoder) loads only for a hall that has serial lines (docs/performance.md, "Memory.").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SerialLineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    port: str = Field(description="device path, e.g. /dev/serial/by-id/… or a pty symlink")
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 2] = 1
    mode: Literal["auto", "serial", "file"] = Field(
        "auto",
        description="serial: a tty with baud settings; file: a device file such as "
        "/dev/usb/lp0 (USB printers); auto: file when the path is not a tty",
    )
    gap_ms: float = Field(20, ge=0, description="silence between frames on the line")
    timeout_ms: float = Field(200, gt=0, description="wait for a reply")
    retries: int = Field(2, ge=0)
    queue_size: int = Field(64, ge=1)
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30, gt=0)
    partial_frame_ms: float | None = Field(
        None,
        description="ignored, kept so older hall files load: a partial frame is dropped by "
        "content (a valid frame after it, a bad checksum, max_frame), never by time",
    )
    misses_to_offline: int = Field(3, ge=1)
    offline_backoff_min_s: float = Field(10, gt=0)
    offline_backoff_max_s: float = Field(300, gt=0)
