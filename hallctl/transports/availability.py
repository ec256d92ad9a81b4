"""Per-device availability on a shared line: a device that keeps missing replies is offline
and skipped for a growing backoff, so a dead device never stalls its neighbours.

While offline, one probe is allowed each time the backoff expires; the line sends it with no
retries. A reply at any time brings the device back online at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Device:
    misses: int = 0
    online: bool = True
    backoff: float = 0.0
    retry_at: float = 0.0


class AvailabilityTracker:
    def __init__(
        self,
        *,
        misses_to_offline: int = 3,
        backoff_min: float = 5.0,
        backoff_max: float = 300.0,
        on_change: Callable[[Hashable, bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.misses_to_offline = misses_to_offline
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.on_change = on_change
        self._clock = clock
        self._devices: dict[Hashable, _Device] = {}

    def _get(self, device: Hashable) -> _Device:
        return self._devices.setdefault(device, _Device())

    def is_online(self, device: Hashable) -> bool:
        return self._get(device).online

    def should_skip(self, device: Hashable) -> bool:
        """Offline and still inside its backoff: do not poll it, do not wait on it."""
        d = self._get(device)
        return not d.online and self._clock() < d.retry_at

    def is_probe(self, device: Hashable) -> bool:
        """Offline and its backoff has expired: the next transaction is a single probe."""
        d = self._get(device)
        return not d.online and self._clock() >= d.retry_at

    def success(self, device: Hashable) -> None:
        d = self._get(device)
        d.misses = 0
        if not d.online:
            d.online, d.backoff = True, 0.0
            log.info("device.online", device=str(device))
            self._notify(device, True)

    def miss(self, device: Hashable) -> None:
        d = self._get(device)
        d.misses += 1
        if d.online and d.misses >= self.misses_to_offline:
            d.online, d.backoff = False, self.backoff_min
            d.retry_at = self._clock() + d.backoff
            log.warning("device.offline", device=str(device), misses=d.misses)
            self._notify(device, False)
        elif not d.online:
            d.backoff = min(d.backoff * 2, self.backoff_max)
            d.retry_at = self._clock() + d.backoff

    def _notify(self, device: Hashable, online: bool) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(device, online)
        except Exception:  # a driver's callback must not break the line
            log.exception("availability.callback_failed", device=str(device))
