"""Per-kiosk token buckets: a kiosk may ask `burst` things at once and `rate_per_min` a minute.

A stuck touchscreen or a script on a compromised kiosk must not flood the hall with tickets;
a refused request changes nothing and says `rate_limited`, so the kiosk can retry later with
the same correlation data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(slots=True)
class TokenBucket:
    rate_per_s: float
    size: int
    clock: Clock = time.monotonic
    _tokens: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.size)  # a kiosk that was quiet may use its whole burst
        self._at = self.clock()

    def take(self) -> bool:
        """Spend one token if there is one; never waits."""
        now = self.clock()
        self._tokens = min(float(self.size), self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class RateLimiter:
    """One bucket per key, made on first use from the key's limits."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str, rate_per_min: int, size: int) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate_per_min / 60.0, size, self._clock)
        return bucket.take()
