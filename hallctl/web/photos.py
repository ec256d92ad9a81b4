"""Staff photos for the staff card (挂牌上岗): `<photos_dir>/<staff id>.jpg|.png`, read at start.

Served at `/staff/<id>/photo` to display and window screens only (their token), never listed.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from aiohttp import web

from hallctl.web.config import WebSection
from hallctl.web.tokens import admits, refuse, token_of

log = structlog.get_logger(__name__)

MAX_PHOTO = 512 * 1024
_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def load_photos(directory: Path | None, staff_ids: list[str]) -> dict[str, tuple[bytes, str]]:
    out: dict[str, tuple[bytes, str]] = {}
    if directory is None:
        return out
    for sid in staff_ids:
        for suffix, content_type in _TYPES.items():
            path = directory / f"{sid}{suffix}"
            if path.is_file():
                if path.stat().st_size > MAX_PHOTO:
                    log.warning("web.photo_too_large", staff=sid, path=str(path))
                    break
                out[sid] = (path.read_bytes(), content_type)
                break
    log.info("web.photos_loaded", count=len(out), directory=str(directory))
    return out


class StaffPhotos:
    def __init__(self, section: WebSection, photos: dict[str, tuple[bytes, str]]) -> None:
        self._screens = [s for s in section.screens if s.page in ("display", "window")]
        self.photos = photos

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/staff/{staff}/photo", self.photo)]

    def url(self, staff_id: str) -> str | None:
        return f"/staff/{staff_id}/photo" if staff_id in self.photos else None

    async def photo(self, request: web.Request) -> web.Response:
        token = token_of(request)
        if not any(admits(s, token) for s in self._screens):
            raise refuse()
        found = self.photos.get(request.match_info["staff"])
        if found is None:
            raise web.HTTPNotFound()
        body, content_type = found
        return web.Response(body=body, content_type=content_type,
                            headers={"Cache-Control": "private, max-age=3600"})
