"""Debian's Chromium under Playwright, launched the way the common brief says (no download)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
SIZES: dict[str, list[tuple[int, int]]] = {
    "display": [(1920, 1080)],
    "window": [(800, 480), (1366, 768)],
    "kiosk": [(1080, 1920), (1920, 1080)],
}


@contextlib.asynccontextmanager
async def chromium(**options: Any) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                           **options)
        try:
            yield browser
        finally:
            await browser.close()
