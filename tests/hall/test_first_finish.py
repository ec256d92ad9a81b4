"""When the first of several busy windows frees up (service_times.first_finish)."""

from __future__ import annotations

import math

import pytest

from hallctl.hall.service_times import ServiceTime, first_finish

S = 300.0  # a five-minute mean


def exponential(n: int = 1000) -> list[float]:
    """Service times spread exactly as an exponential's quantiles (no randomness), in a mixed
    order, so that the latest ones have the same pace as all of them."""
    return [-S * math.log(1 - ((i * 7919) % n + 0.5) / n) for i in range(n)]


@pytest.mark.parametrize("c", [2, 4, 12])
def test_the_first_of_c_exponential_services_ends_after_a_cth_of_the_mean(c: int) -> None:
    st = ServiceTime.of(exponential(), S)
    # memoryless: however long each has been at the window, the first ends after S ÷ c (each
    # has been there longer than the history's clip at median ÷ 8 = 26 s, which lifts the
    # shortest samples)
    busy = [st.residual(elapsed) for elapsed in (45.0, 60.0, 200.0, 30.0) * 3][:c]
    assert first_finish(busy) == pytest.approx(S / c, rel=0.03)


def test_the_fastest_slice_of_one_window_was_too_early() -> None:
    # the old answer, the mean of the fastest quarter of one window's time left, said about
    # half of S ÷ 4: M/M/4 tickets with every window busy were told half their wait
    st = ServiceTime.of(exponential(), S)
    assert st.remaining_slice(60.0, 0, 4) < 0.65 * S / 4


def test_a_window_without_history_counts_as_certain() -> None:
    certain = ServiceTime.of([], 600.0)  # no samples: the configured ten minutes
    assert first_finish([certain.residual(120.0)]) == pytest.approx(480.0)
    assert first_finish([certain.residual(120.0), certain.residual(540.0)]) == pytest.approx(
        certain.residual(540.0).mean
    )
    # next to one with history, the first finish is before either's mean time left
    spread = ServiceTime.of(exponential(), S).residual(0.0)
    both = first_finish([certain.residual(120.0), spread])
    assert both < min(spread.mean, 480.0)
    # ∫ over [0, 480] of P(the exponential one still busy) = S (1 − e^(−480/S))
    assert both == pytest.approx(S * (1 - math.exp(-480 / S)), rel=0.05)
