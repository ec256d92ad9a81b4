"""HTTP webhook sink: each batch POSTed as one JSON document, signed with HMAC-SHA256.

Body: ``{"hall": "<hall id>", "events": [<envelope>, ...]}`` (envelopes as on MQTT, in journal
order). Headers: ``X-Hallctl-Signature: sha256=<hex HMAC of the body>`` with the sink's secret,
``X-Hallctl-Hall`` and ``X-Hallctl-Seqs: <first>-<last>``. Every event's ``id`` is its
idempotency key: after a timeout or a crash the same events are POSTed again, and the receiver
keeps one per id.

2xx = accepted. 5xx, 408, 429, timeouts and connection errors are retried with backoff. Any
other answer (4xx, 3xx) means the receiver refuses the batch as it is: the sink parks with an
alarm instead of skipping it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from json.encoder import encode_basestring

import aiohttp

from hallctl.forward.config import WebhookSink
from hallctl.forward.contract import SinkRejected, SinkUnavailable
from hallctl.journal import Record

SIGNATURE_HEADER = "X-Hallctl-Signature"
_RETRIED = frozenset({408, 425, 429})


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value; receivers compare it with `hmac.compare_digest`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


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
            SIGNATURE_HEADER: sign(self._secret, body),
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
