"""Personal data stays in the hall: ID numbers and phones are hashed with a per-hall secret
and masked for display; the clear value never reaches the journal, an event or the back end.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_secret(path: Path) -> bytes:
    """A 32-byte secret kept beside the journal (0600); created on first start."""
    try:
        data = path.read_bytes()
        if len(data) >= 16:
            return data
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
        f.flush()
        os.fsync(f.fileno())
    return path.read_bytes()


def normalize(value: str) -> str:
    return "".join(ch for ch in value.strip().upper() if ch.isalnum())


def hash_id(secret: bytes, value: str) -> str:
    """Keyed hash: the same person gives the same value in this hall, and nothing outside it."""
    return hmac.new(secret, normalize(value).encode(), hashlib.sha256).hexdigest()[:32]


def mask_id(value: str) -> str:
    """``110101199003071234`` → ``110***********1234``; ``13812345678`` → ``138****5678``."""
    v = normalize(value)
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]
