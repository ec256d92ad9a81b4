"""How long a window is taken by one citizen: robust estimates from the hall's own history.

A sample is a window's occupancy, on the hall clock: from the call to the finish (or to the
过号 mark for a no-show), so the time a citizen takes to walk up and the windows lost to
no-shows are both counted, as they delay the people behind. The fold keeps the last
``SAMPLES`` per service and per (staff, service) across days, so the morning starts from
yesterday afternoon's pace and the estimate follows the time of day.

- **mean**: the mean of the samples clipped to [median ÷ 8, median × 8], so one forgotten
  "finish" (a three-hour sample) moves it by little; blended with the configured
  ``avg_service_min`` as ``PRIOR_WEIGHT`` samples' worth, which is all there is before the first
  finish.
- **recent pace**: the last ``RECENT`` samples' mean where it differs from the long run by more
  than twice its standard error (time of day, a slow afternoon), shrunk towards it otherwise.
- **per staff** (or per window when nobody is named there): a person's own mean once they have
  ``STAFF_MIN`` samples, the same way: only a difference larger than its noise counts.
- **remaining time** of a citizen already at a window for ``e`` seconds: the mean of ``s − e``
  over the samples longer than ``e`` (the history's own answer, whatever its shape); past the
  history's longest samples, what its longest ones had left (at least half a mean).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from statistics import median

from hallctl.hall.eta_steps import drain

SAMPLES = 1000
RECENT = 60  # the latest samples, for a pace that differs from the long run
STAFF_SAMPLES = 40
PRIOR_WEIGHT = 2.0
STAFF_MIN = 8
CLIP = 8.0
TAIL_MIN = 5  # samples longer than the elapsed time needed for the empirical remaining time
HISTORY_MIN = 10  # samples needed before durations are drawn from the history
PAUSE_SAMPLES = 40
PAUSE_PRIOR_S = 30 * 60.0  # a pause's expected length before the hall has seen any
PAUSE_MIN_LEFT_S = 5 * 60.0


def new_samples(maxlen: int = SAMPLES) -> deque[float]:
    return deque(maxlen=maxlen)


def clipped(samples: Iterable[float]) -> list[float]:
    xs = [x for x in samples if x > 0]
    if not xs:
        return []
    m = median(xs)
    lo, hi = m / CLIP, m * CLIP
    return [min(max(x, lo), hi) for x in xs]


SIGNIFICANCE = 4.0  # (difference ÷ its standard error)² below which a difference is noise


def shrunk(own: Sequence[float], base: float) -> float:
    """The mean of ``own``, shrunk towards ``base`` unless it differs by more than its noise
    explains (positive-part James-Stein with a 2σ threshold): a real change of pace shows
    through, the noise of a few dozen samples does not."""
    return shrink(mean_se2(own), base)


def mean_se2(own: Sequence[float]) -> tuple[int, float, float]:
    """(n, mean, squared standard error of the mean)."""
    n = len(own)
    if n < 2:
        return n, 0.0, 0.0
    m = sum(own) / n
    return n, m, sum((x - m) ** 2 for x in own) / (n - 1) / n


def shrink(stats: tuple[int, float, float], base: float) -> float:
    n, m, se2 = stats
    if n < 2:
        return base
    d2 = (m - base) ** 2
    if d2 <= 0:
        return base
    return base + max(0.0, 1.0 - SIGNIFICANCE * se2 / d2) * (m - base)


def robust_mean(samples: Iterable[float], prior_s: float, prior_weight: float) -> float:
    xs = clipped(samples)
    return (prior_weight * prior_s + sum(xs)) / (prior_weight + len(xs))


@dataclass(frozen=True, slots=True)
class ServiceTime:
    """One service's estimate, ready for the forward simulation (seconds, hall clock)."""

    mean_s: float
    sorted_samples: tuple[float, ...]  # clipped, ascending, for remaining times
    cv2: float = 0.0  # squared coefficient of variation of the history (1 for exponential)
    raw_mean: float = 0.0  # the samples' own mean
    factor: float = 1.0  # a person's pace against the samples'
    long_run: float = 0.0  # the mean without the recent pace (a person's pace is against it)

    @classmethod
    def of(
        cls, samples: Sequence[float], prior_s: float, ordered: list[float] | None = None
    ) -> ServiceTime:
        """The summary of ``samples`` (``ordered``: their positive ones sorted already, a list
        this may change; hall/service_time_cache.py keeps one up to date)."""
        if ordered is None:
            ordered = sorted(x for x in samples if x > 0)  # the median, the clip, the remaining
        n = len(ordered)
        cv2 = raw = total = lo = hi = 0.0
        if n:
            m = ordered[(n - 1) // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
            lo, hi = m / CLIP, m * CLIP
            i, j = bisect_left(ordered, lo), bisect_right(ordered, hi)
            ordered[:i] = [lo] * i  # clipping keeps the order
            ordered[j:] = [hi] * (n - j)
            total = sum(ordered)
            raw = total / n
            if n >= HISTORY_MIN:
                cv2 = sum([(x - raw) ** 2 for x in ordered]) / (n - 1) / (raw * raw)
        long_run = (PRIOR_WEIGHT * prior_s + total) / (PRIOR_WEIGHT + n)
        mean = long_run
        if n > 2 * RECENT:
            # the recent pace where it differs from the long run by more than its noise
            recent = [min(max(x, lo), hi) for x in _latest_positive(samples, RECENT)]
            mean = shrunk(recent, long_run)
        return cls(mean, tuple(ordered), cv2, raw, long_run=long_run)

    @property
    def has_history(self) -> bool:
        return len(self.sorted_samples) >= HISTORY_MIN

    def scaled(self, factor: float) -> ServiceTime:
        """The same history at another pace (a slower person): nothing is copied."""
        # the constructor, not dataclasses.replace: a run asks for a hundred of these
        return ServiceTime(
            self.mean_s * factor,
            self.sorted_samples,
            self.cv2,
            self.raw_mean,
            self.factor * factor,
            self.long_run,
        )

    def remaining(self, elapsed_s: float) -> float:
        """Expected time left for a citizen at the window for ``elapsed_s`` already."""
        f = self.factor
        return f * self._remaining(elapsed_s / f, self.mean_s / f)

    def remaining_slice(self, elapsed_s: float, k: int, of: int) -> float:
        """Mean time left over the k-th of ``of`` equal slices of the remaining-time samples."""
        f = self.factor
        e, m = elapsed_s / f, self.mean_s / f
        xs = self.sorted_samples
        i = bisect_right(xs, e)
        n = len(xs) - i
        if not self.has_history or n < TAIL_MIN or of <= 1:
            return f * self._remaining(e, m)
        lo = i + (k * n) // of
        hi = max(lo + 1, i + -(-(k + 1) * n // of))
        part = xs[lo:hi]
        return f * (sum(part) / len(part) - e) * (m / self.raw_mean)

    def residual(self, elapsed_s: float, left: float | None = None) -> Residual:
        """The time left for a citizen at the window for ``elapsed_s``, as a distribution
        (``left``: ``remaining(elapsed_s)`` when the caller has it already)."""
        f = self.factor
        e = elapsed_s / f
        xs = self.sorted_samples
        i = bisect_right(xs, e)
        if left is None:
            left = self.remaining(elapsed_s)
        if not self.has_history or len(xs) - i < TAIL_MIN:
            return Residual(left, (left,), 0, 0.0, 1.0)  # as if the time left were certain
        # the samples longer than e, less e, in this window's seconds
        return Residual(left, xs, i, e, self.mean_s / self.raw_mean)

    def _remaining(self, e: float, m: float) -> float:
        """Unscaled: ``e`` elapsed, ``m`` the (prior-blended) mean, both at the history's pace."""
        if e <= 0:
            return m
        xs = self.sorted_samples
        if len(xs) < TAIL_MIN * 2:
            return max(m - e, m / 4)  # no history yet: a floor
        i = bisect_right(xs, e)
        if len(xs) - i < TAIL_MIN:  # longer than nearly all the history: its longest ones
            return max(sum(xs[-TAIL_MIN:]) / TAIL_MIN - e, m / 2)
        # scaled so that at elapsed 0 it agrees with the (prior-blended) mean
        return (sum(xs[i:]) / (len(xs) - i) - e) * (m / self.raw_mean)


def _latest_positive(samples: Sequence[float], count: int) -> list[float]:
    """The last ``count`` positive samples, in their order."""
    out: list[float] = []
    for x in reversed(samples):
        if x > 0:
            out.append(x)
            if len(out) == count:
                break
    out.reverse()
    return out


def pause_left(samples: Sequence[float], elapsed_s: float) -> float:
    """Expected time until a paused window resumes: the typical pause, less what has passed."""
    typical = median(samples) if len(samples) >= 3 else PAUSE_PRIOR_S
    return max(typical - elapsed_s, PAUSE_MIN_LEFT_S)


def server_key(staff: str | None, window: int, service: str) -> str:
    """Whose pace: the named staff, or the window itself when nobody is named there."""
    return f"{staff or f'#{window}'}/{service}"


def staff_stats(staff: Sequence[float]) -> tuple[int, float, float] | None:
    """What a person's pace is judged by (None: too few services yet)."""
    if len(staff) < STAFF_MIN:
        return None
    return mean_se2(clipped(staff))


def staff_factor(stats: tuple[int, float, float] | None, base: float) -> float:
    """How much slower (> 1) or faster (< 1) one person is than the service's long-run mean."""
    if stats is None:
        return 1.0
    return shrink(stats, base) / base


FIRST_GRID = 48  # points of the integral in first_finish
# points for a group of interchangeable windows (hall/eta.py): a run asks for about twenty of
# these, each only a share of a stagger, and at 48 points they were a fifth of a run's cost
GROUP_GRID = 16


@dataclass(frozen=True, slots=True)
class Residual:
    """Time left at a busy window: equally likely values ``(xs[k] - e) * scale``, k ≥ i."""

    mean: float
    xs: tuple[float, ...]
    i: int
    e: float
    scale: float

    def alive(self, t: float) -> float:
        """P(still busy ``t`` seconds from now)."""
        xs = self.xs
        return (len(xs) - bisect_right(xs, self.e + t / self.scale)) / (len(xs) - self.i)

    def quantile(self, q: float) -> float:
        n = len(self.xs) - self.i
        return (self.xs[self.i + min(n - 1, int(q * n))] - self.e) * self.scale


def first_finish(busy: Sequence[Residual], points: int = FIRST_GRID) -> float:
    """Expected time until the first of several busy windows finishes: ∫ P(all still busy at
    t) dt, on a grid of ``points`` quantiles of the window with history likeliest to finish
    first, and the times left of those without (taken as certain). With one window, its mean."""
    return drain(first_finish_steps(busy, points))


def first_finish_steps(
    busy: Sequence[Residual], points: int = FIRST_GRID
) -> Generator[None, None, float]:
    """``first_finish``, a window at a time: it yields after each window's factor of the
    product (a forward run made over several loop passes, hall/eta.py), then returns it."""
    if len(busy) == 1:
        return busy[0].mean
    spread = [r for r in busy if len(r.xs) - r.i > 1]
    certain = [r.mean for r in busy if len(r.xs) - r.i <= 1]
    if not spread:
        return min(certain)
    first = min(spread, key=lambda r: r.mean)
    end = min([*certain, first.quantile(1.0)])  # all finished by then
    # first.quantile(g / points) for every g, inline (a run asks for twenty of these)
    fx, fi, fe, fs = first.xs, first.i, first.e, first.scale
    fn = len(fx) - fi
    quantiles = [(fx[fi + min(fn - 1, int(g / points * fn))] - fe) * fs for g in range(1, points)]
    grid = sorted({t for t in quantiles if t < end} | {t for t in certain if t <= end} | {end})
    # P(all still busy) at every point of the grid, multiplied window by window in the order
    # of ``busy`` (the same products as alive() point by point, a list at a time: a run has a
    # hundred busy windows)
    ps = [1.0] * len(grid)
    for r in busy:
        xs, e, scale = r.xs, r.e, r.scale
        n = len(xs)
        left = n - r.i
        if bisect_right(xs, e + grid[-1] / scale) == r.i:
            continue  # busy beyond the whole grid: alive() is exactly 1 at every point
        ps = [
            p * ((n - bisect_right(xs, e + t / scale)) / left)
            for p, t in zip(ps, grid, strict=True)
        ]
        yield
    total, prev_t, prev_p = 0.0, 0.0, 1.0
    log = math.log
    for t, p in zip(grid, ps, strict=True):
        # ∫ of the falling probability over this step: exponential between its ends (exact
        # for exponential services, where the product falls fastest), a step where it ends
        if p <= 0.0 or prev_p - p < 1e-9:
            total += (t - prev_t) * prev_p
        else:
            total += (t - prev_t) * (prev_p - p) / log(prev_p / p)
        prev_t, prev_p = t, p
        if p == 0.0:
            break
    return total
