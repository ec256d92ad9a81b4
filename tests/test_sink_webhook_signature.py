"""The webhook signature covers a timestamp and the body, and the receiver-side check from
docs/backends.md (run here as documented, in the real aiohttp receiver) refuses a changed body,
another secret and a replay after the tolerance, while the request hallctl sent is accepted."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from hallctl.forward.webhook import SIGNATURE_HEADER, sign
from tests.sinks_support import (
    SECRET,
    WebhookReceiver,
    issue,
    running_engine,
    sinks_running,
    wait_for,
)
from tests.webhook_check import TOLERANCE_S, verify_signature


def hook(url: str) -> str:
    return (
        f"sinks:\n  - {{name: city, type: webhook, url: '{url}', secret_env: HOOK_SECRET, "
        "timeout_s: 2, retry_min_s: 0.01, retry_max_s: 0.05, park_retry_s: 30, "
        "start: beginning}\n"
    )


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)


def test_the_header_is_a_timestamp_and_an_hmac_of_timestamp_dot_body() -> None:
    header = sign(b"k", b'{"events":[]}', 1_767_225_600.9)
    t, v1 = header.split(",")
    assert t == "t=1767225600" and v1.startswith("v1=") and len(v1) == 3 + 64
    assert verify_signature(b"k", header, b'{"events":[]}', now=1_767_225_600 + 10)
    # the timestamp is signed too: moving it forward breaks the signature
    moved = header.replace("t=1767225600", "t=1767225900")
    assert not verify_signature(b"k", moved, b'{"events":[]}', now=1_767_225_900)
    for garbage in ("", "sha256=abc", "t=x,v1=00", "v1=00"):
        assert not verify_signature(b"k", garbage, b"{}", now=0)


async def test_a_changed_body_and_a_late_replay_are_refused(tmp_path: Path) -> None:
    async with WebhookReceiver() as rx, running_engine(tmp_path, hook(rx.url)) as engine:
        await issue(engine, 3)
        async with sinks_running(engine):
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:city") == last, what="delivered")
        assert rx.bad_signatures == 0 and len(rx.unique) == last
        headers, body = rx.signed[0]
        sent = {k: headers[k] for k in ("Content-Type", SIGNATURE_HEADER)}

        async def replay(data: bytes) -> int:
            async with aiohttp.ClientSession() as http, http.post(
                rx.url, data=data, headers=sent
            ) as r:
                return r.status

        # the very request, again at once: accepted, and stored once per id as before
        assert await replay(body) == 204
        assert len(rx.unique) == last and rx.bad_signatures == 0
        # one event's ticket changed on the way: refused
        tampered = body.replace(b'"B0001"', b'"B0009"', 1)
        assert tampered != body
        assert await replay(tampered) == 401
        # captured and replayed later than the tolerance: refused
        signed_at = int(sent[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
        rx.clock = lambda: signed_at + TOLERANCE_S + 1
        assert await replay(body) == 401
        assert rx.bad_signatures == 2 and len(rx.unique) == last


async def test_another_secret_is_refused_and_parks_the_sink(tmp_path: Path) -> None:
    async with WebhookReceiver(secret="not-the-hall's-secret") as rx, running_engine(
        tmp_path, hook(rx.url)
    ) as engine:
        await issue(engine, 2)
        async with sinks_running(engine) as sinks:
            await wait_for(lambda: sinks.report()[0]["state"] == "parked", what="parked")
            assert "HTTP 401" in sinks.report()[0]["last_error"]
        assert rx.bad_signatures >= 1 and rx.accepted == []
        assert engine.journal.cursor("sink:city") == 0  # nothing skipped
