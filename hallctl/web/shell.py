"""The page shell every hall page shares: one HTML frame, the packaged assets, strict headers.

A page is this frame plus its own script and stylesheet from `hallctl/web/static/` and a small
JSON config the script reads. Assets are served from memory with a content hash in their URL,
so a hall PC caches them until the daemon is upgraded. The Content-Security-Policy lets a page
talk only to hallctl: nothing from the internet, even if someone edits a page.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

STATIC_PREFIX = "/static/"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _load_assets() -> dict[str, Asset]:
    out: dict[str, Asset] = {}
    for entry in resources.files("hallctl.web").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if suffix not in _TYPES:
            continue
        body = entry.read_bytes()
        out[entry.name] = Asset(body, _TYPES[suffix], hashlib.sha256(body).hexdigest()[:16])
    return out


class Shell:
    """Renders pages and serves the assets they name."""

    def __init__(self) -> None:
        self.assets = _load_assets()

    def url(self, name: str) -> str:
        return f"{STATIC_PREFIX}{name}?v={self.assets[name].etag}"

    def routes(self) -> list[web.RouteDef]:
        return [web.get(STATIC_PREFIX + "{name}", self.static)]

    async def static(self, request: web.Request) -> web.Response:
        asset = self.assets.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304)
        return web.Response(
            body=asset.body,
            content_type=asset.content_type,
            charset="utf-8",
            headers={"ETag": asset.etag, "Cache-Control": "public, max-age=86400"},
        )

    def page(
        self,
        *,
        title: str,
        page: str,
        config: dict[str, Any],
        scripts: list[str],
        styles: list[str],
    ) -> web.Response:
        data = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
        links = "".join(f'<link rel="stylesheet" href="{self.url(s)}">' for s in styles)
        tags = "".join(f'<script type="module" src="{self.url(s)}"></script>' for s in scripts)
        text = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1,user-scalable=no">'
            f"<title>{html.escape(title)}</title>{links}</head>"
            f'<body class="page-{page}"><div id="app"></div>'
            f'<script id="page-config" type="application/json">{data}</script>{tags}'
            "</body></html>"
        )
        return web.Response(
            text=text,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": CSP,
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )
