"""Web sessions: an opaque token in a signed, expiring, HttpOnly SameSite cookie.

The cookie carries a random token signed with itsdangerous's TimestampSigner (Pallets' signing
library: the signature and its age are checked before any look-up). The server keeps only the
token's SHA-256 in `sessions.db`, so a copied database logs nobody in, and a session can be ended
on the server: logout, logout everywhere (every session of one staff member), idle time-out,
and a maximum age. Sessions survive a daemon restart. The CSRF token of a session is an HMAC of
its token hash: a page reads it from the login answer and sends it in `X-CSRF-Token`.

Failed logins are counted per account in the same database (a lock-out survives a restart);
attempts per address are rate-limited in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, TimestampSigner

from hallctl.accounts.config import AccountsConfig

COOKIE = "hallctl_session"
SEEN_EVERY_S = 30.0  # refresh last-seen at most this often: no write per request

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, staff TEXT NOT NULL,"
    " created REAL NOT NULL, seen REAL NOT NULL, address TEXT)",
    "CREATE INDEX IF NOT EXISTS sessions_staff ON sessions (staff)",
    "CREATE TABLE IF NOT EXISTS failures (staff TEXT PRIMARY KEY, count INTEGER NOT NULL,"
    " locked_until REAL NOT NULL DEFAULT 0)",
)

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Session:
    staff: str
    token_hash: str
    created: float
    seen: float


class Locked(Exception):
    def __init__(self, until: float) -> None:
        super().__init__("account locked")
        self.until = until


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(
        self, path: Path, secret: bytes, config: AccountsConfig, clock: Clock = time.time
    ) -> None:
        self._config = config
        self._clock = clock
        self._secret = secret
        self._signer = TimestampSigner(secret, salt="hallctl.session")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a session lost to power loss: log in
        for statement in _SCHEMA:
            self._db.execute(statement)
        path.chmod(0o640)

    def close(self) -> None:
        self._db.close()

    # -- sessions ----------------------------------------------------------------------------

    def create(self, staff: str, address: str | None) -> str:
        """A new session for `staff`; returns the signed cookie value."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        row = (_digest(token), staff, now, now, address)
        self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", row)
        return self._signer.sign(token).decode()

    def check(self, cookie: str | None) -> Session | None:
        """The live session a cookie names, or None (forged, expired, ended)."""
        if not cookie:
            return None
        max_age = int(self._config.session_max_h * 3600)
        try:
            # the signature's own timestamp: an old cookie is refused before any look-up
            token = self._signer.unsign(cookie, max_age=max_age).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        token_hash = _digest(token)
        row = self._db.execute(
            "SELECT staff, created, seen FROM sessions WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        if row is None:
            return None
        staff, created, seen = row
        now = self._clock()
        if now - seen > self._config.session_idle_min * 60 or now - created > max_age:
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))
            return None
        if now - seen > SEEN_EVERY_S:
            self._db.execute("UPDATE sessions SET seen = ? WHERE token_hash = ?", (now, token_hash))
            seen = now
        return Session(staff=staff, token_hash=token_hash, created=created, seen=seen)

    def end(self, session: Session) -> None:
        self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (session.token_hash,))

    def end_all(self, staff: str) -> int:
        """Logout everywhere: every session of one staff member."""
        return self._db.execute("DELETE FROM sessions WHERE staff = ?", (staff,)).rowcount

    def expired(self) -> list[str]:
        """Remove sessions past their idle time or age; the staff members they belonged to."""
        now = self._clock()
        idle = now - self._config.session_idle_min * 60
        old = now - self._config.session_max_h * 3600
        rows = self._db.execute(
            "DELETE FROM sessions WHERE seen < ? OR created < ? RETURNING staff", (idle, old)
        ).fetchall()
        return sorted({r[0] for r in rows})

    def live_staff(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT DISTINCT staff FROM sessions")}

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._secret, b"csrf:" + session.token_hash.encode(), "sha256").hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token(session), token)

    # -- lock-out ----------------------------------------------------------------------------

    def check_not_locked(self, staff: str) -> None:
        row = self._db.execute(
            "SELECT locked_until FROM failures WHERE staff = ?", (staff,)
        ).fetchone()
        if row is not None and row[0] > self._clock():
            raise Locked(row[0])

    def failed(self, staff: str) -> float | None:
        """Count a wrong password; returns the lock's end when this one locks the account."""
        row = self._db.execute("SELECT count FROM failures WHERE staff = ?", (staff,)).fetchone()
        count = (row[0] if row else 0) + 1
        until = 0.0
        if count >= self._config.lockout_failures:
            until, count = self._clock() + self._config.lockout_min * 60, 0
        self._db.execute(
            "INSERT INTO failures VALUES (?, ?, ?) ON CONFLICT(staff) DO UPDATE SET"
            " count = excluded.count, locked_until = excluded.locked_until",
            (staff, count, until),
        )
        return until or None

    def succeeded(self, staff: str) -> None:
        self._db.execute("DELETE FROM failures WHERE staff = ?", (staff,))


class AddressLimiter:
    """At most N login attempts per address per minute (a sliding token bucket)."""

    def __init__(self, per_min: int, clock: Clock = time.monotonic) -> None:
        self._rate = per_min / 60.0
        self._burst = float(per_min)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, address: str) -> bool:
        now = self._clock()
        tokens, at = self._buckets.get(address, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if len(self._buckets) > 10_000:  # a scan from many addresses must not grow memory
            self._buckets.clear()
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return False
        self._buckets[address] = (tokens - 1, now)
        return True
