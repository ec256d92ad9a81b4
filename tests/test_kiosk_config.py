"""The kiosks section and the token bucket, on their own (no broker)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from hallctl.kiosk.config import KioskConfig, KioskSection
from hallctl.kiosk.ratelimit import RateLimiter, TokenBucket

DOCS = Path(__file__).resolve().parents[1] / "docs" / "kiosks.md"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=0.5, size=2, clock=clock)  # 30 a minute, 2 at once
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.t += 1.0  # half a token
    assert bucket.take() is False
    clock.t += 1.0
    assert bucket.take() is True
    clock.t += 3600  # a long quiet spell refills the burst, no more
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_the_limiter_keeps_one_bucket_per_kiosk() -> None:
    limiter = RateLimiter(FakeClock())
    assert [limiter.allow("K1", 60, 1) for _ in range(2)] == [True, False]
    assert limiter.allow("K2", 60, 1) is True


def test_a_kiosk_takes_tickets_by_default_but_green_only_when_granted() -> None:
    plain = KioskConfig(id="K1")
    assert "take_ticket" in plain.allowed and "green_ticket" not in plain.allowed
    assert "green_ticket" in KioskConfig(id="KG", green_channel=True).allowed
    assert plain.bucket_size == 10 and KioskConfig(id="K", rate_per_min=6).bucket_size == 5


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"kiosks": [{"id": "K1"}, {"id": "K1"}]}, "listed twice"),
        ({"kiosks": [{"id": "K1", "allow": ["green_ticket"]}]}, "green_channel: true"),
        ({"kiosks": [{"id": "K1", "allow": ["call_next"]}]}, "call_next"),
        ({"kiosks": [{"id": "K/1"}]}, "pattern"),  # would break the topic and the %u ACL
        ({"kiosks": [{"id": "K1", "rate_per_min": 0}]}, "greater than or equal to 1"),
    ],
)
def test_mistakes_in_the_section_are_refused(section: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        KioskSection.model_validate(section)


def test_the_example_in_the_docs_is_a_valid_section() -> None:
    found = re.search(r"```yaml\n(kiosks:.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, "docs/kiosks.md has no ```yaml kiosks: example"
    section = KioskSection.model_validate(YAML(typ="safe").load(found.group(1))["kiosks"])
    assert section.kiosks
