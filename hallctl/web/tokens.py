"""Per-screen tokens: made once, kept only as a SHA-256, checked in constant time.

A token is 32 random bytes (URL-safe base64), so a plain SHA-256 is enough to keep it out of the
hall file: there is nothing to guess, unlike a password that would need a slow hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web

from hallctl.web.config import ScreenConfig

TOKEN_PARAM = "t"  # ?t=… in the screen's start URL (EventSource cannot send headers)
TOKEN_HEADER = "Authorization"  # "Bearer …" from the page's own fetch() calls


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_of(request: web.Request) -> str | None:
    header = request.headers.get(TOKEN_HEADER, "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip() or None
    return request.query.get(TOKEN_PARAM) or None


def admits(screen: ScreenConfig | None, token: str | None) -> bool:
    """True when `token` is this screen's; False for no screen or no/wrong token."""
    if screen is None or not token:
        return False
    return hmac.compare_digest(token_hash(token), screen.token_sha256)


def refuse() -> web.HTTPForbidden:
    """The one answer for an unknown screen or a bad token: says nothing about which."""
    return web.HTTPForbidden(
        text="403 此屏幕未授权 / this screen is not authorised\n",
        content_type="text/plain",
        headers={"Cache-Control": "no-store"},
    )
