"""Per-device availability and degradation, as a small clock-driven state machine.

A device that stops answering must not stall its neighbours on a shared half-duplex line:
after ``fail_threshold`` failed transactions in a row it goes offline and is skipped for
``backoff`` seconds, then probed with a single attempt (no retries), so it costs at most one
timeout per backoff period. Any answer, even a Modbus exception, proves it is alive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["unknown", "online", "offline"]


@dataclass(slots=True)
class DeviceHealth:
    fail_threshold: int
    backoff: float
    state: State = "unknown"
    failures: int = 0
    skip_until: float = 0.0

    def ready_at(self) -> float:
        """Earliest time the device may be talked to (0 unless it is offline)."""
        return self.skip_until if self.state == "offline" else 0.0

    def attempts(self, retries: int) -> int:
        """Attempts for the next transaction: a probe of an offline device gets one."""
        return 1 if self.state == "offline" else 1 + retries

    def answered(self) -> bool:
        """The device answered; returns True when it just came online."""
        self.failures = 0
        changed = self.state != "online"
        self.state = "online"
        return changed

    def failed(self, now: float) -> bool:
        """A transaction got no (valid) answer; returns True when it just went offline."""
        self.failures += 1
        if self.state == "offline":
            self.skip_until = now + self.backoff
            return False
        if self.failures >= self.fail_threshold:
            self.state = "offline"
            self.skip_until = now + self.backoff
            return True
        return False

    def link_down(self, now: float) -> bool:
        """The whole link is gone (port vanished, TCP refused): offline at once."""
        changed = self.state != "offline"
        self.state = "offline"
        self.failures = max(self.failures, self.fail_threshold)
        self.skip_until = now  # probe as soon as the link is back
        return changed
