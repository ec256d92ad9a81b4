"""HTTP webhook sink: each batch POSTed as one JSON document, signed with HMAC-SHA256.

Body: ``{"hall": "<hall id>", "events": [<envelope>, ...]}`` (envelopes as on MQTT, in journal
order). Headers: ``X-Hallctl-Signature: t=<unix seconds>,v1=<hex>``, the HMAC-SHA256 with the
sink's secret of ``"<t>." + body`` (the common webhook scheme), so a receiver can refuse a
captured request replayed later (docs/backends.md has the check); ``X-Hallctl-Hall`` and
``X-Hallctl-Seqs: <first>-<last>``. Every POST, a re-send included, is signed when it is sent.
Every event's ``id`` is its idempotency key: after a timeout or a crash the same events are
POSTed again, and the receiver keeps one per id.

2xx = accepted. 5xx, 408, 429, timeouts and connection errors are retried with backoff. Any
other answer (4xx, 3xx) means the receiver refuses the batch as it is: the sink parks with an
alarm instead of skipping it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from json.encoder import encode_basestring

import aiohttp

from hallctl.forward.config import WebhookSink
from hallctl.forward.contract import SinkRejected, SinkUnavailable
from hallctl.journal import Record

SIGNATURE_HEADER = "X-Hallctl-Signature"
_RETRIED = frozenset({408, 425, 429})


def sign(secret: bytes, body: bytes, at: float) -> str:
    """The signature header's value at unix time ``at``: ``t=<at>,v1=<HMAC of "<at>." + body>``."""
    t = int(at)
    mac = hmac.new(secret, b"%d." % t + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def batch_body(hall: str, records: Sequence[Record]) -> bytes:
    events = b",".join(r.envelope_json(hall) for r in records)
    return b'{"hall":' + encode_basestring(hall).encode() + b',"events":[' + events + b"]}"


class WebhookDelivery:
    """Implements `Sink` for one webhook receiver."""

    def __init__(self, config: WebhookSink, hall: str) -> None:
        self._config = config
        self._hall = hall
        self._session: aiohttp.ClientSession | None = None
        self._secret = b""

    async def open(self) -> None:
        try:
            self._secret = self._config.secret()  # read each time: a rotated secret applies
        except ValueError as exc:
            raise SinkRejected(str(exc)) from None
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_s)
            )

    async def deliver(self, records: Sequence[Record]) -> None:
        assert self._session is not None, "open() first"
        body = batch_body(self._hall, records)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(self._secret, body, time.time()),
            "X-Hallctl-Hall": self._hall,
            "X-Hallctl-Seqs": f"{records[0].seq}-{records[-1].seq}",
        }
        try:
            async with self._session.post(
                self._config.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                text = (await response.text(errors="replace"))[:200]
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SinkUnavailable(f"POST {self._config.url}: {type(exc).__name__} {exc}") from exc
        if 200 <= status < 300:
            return
        message = f"POST {self._config.url}: HTTP {status} {text}".strip()
        if status >= 500 or status in _RETRIED:
            raise SinkUnavailable(message)
        raise SinkRejected(message)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
