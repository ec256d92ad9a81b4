"""Screenshots of every hall page at its target sizes, into docs/screenshots/.

    .venv/bin/python scripts/page_screenshots.py

Runs a small hall in this process (tests/web_support.py) with a few calls made, and Debian's
Chromium. Look at every image after a change to the pages: CJK, overflow, contrast, touch sizes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import SIZES, chromium  # noqa: E402
from tests.web_support import Pages, running_pages  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


async def busy_hall(p: Pages) -> None:
    for n, staff in ((1, "S01"), (2, "S02"), (3, "S03")):
        await p.do("open_window", window=n, staff=staff)
    await p.do("open_window", window=4)
    for service, count in (("BDC", 9), ("SBYB", 6), ("GJJ", 3), ("QYKB", 4), ("HJ", 2)):
        for _ in range(count):
            await p.do("take_ticket", service=service)
    for n in (1, 2, 3, 1, 4, 2):
        await p.do("call_next", window=n)
    await p.do("start_service", window=2)
    await p.do("start_service", window=3)
    await p.do("finish", window=3)  # the evaluation prompt shows on its screen
    await p.do("pause_window", window=4, reason="午休，13:30 恢复")


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with running_pages(Path(tmp), hours="08:30-17:00") as p, chromium() as browser:
            await busy_hall(p)
            await shoot(p, browser)


async def shoot(p: Pages, browser: object) -> None:
    from playwright.async_api import Browser

    assert isinstance(browser, Browser)
    shots = [
        ("display", "/display/main", "main", "display-main"),
        ("display", "/display/floor2", "floor2", "display-zone"),
        ("window", "/display/window/1", "w1", "window-1"),
        ("window", "/display/window/2", "w2", "window-2"),
        ("window", "/display/window/3", "w3", "window-3-evaluation"),
        ("window", "/display/window/4", "w4", "window-4-paused"),
    ]
    for kind, path, screen, name in shots:
        for w, h in SIZES[kind]:
            page = await browser.new_page(viewport={"width": w, "height": h})
            await page.goto(p.page(path, screen))
            await page.wait_for_selector(".win, .w-body > *")
            # the notice line scrolls in from the right: let some of it show
            await page.wait_for_timeout(4000 if kind == "display" else 300)
            await page.screenshot(path=OUT / f"{name}-{w}x{h}.png")
            await page.close()
    for w, h in SIZES["kiosk"]:
        page = await browser.new_page(viewport={"width": w, "height": h})
        await page.goto(p.page("/kiosk/K1", "K1"))
        await page.wait_for_selector(".k-tile")
        await page.screenshot(path=OUT / f"kiosk-home-{w}x{h}.png")
        await page.click("[data-service=BDC] .k-guide-btn")
        await page.screenshot(path=OUT / f"kiosk-guide-{w}x{h}.png")
        await page.click(".k-action.primary")
        await page.wait_for_selector(".k-ticket")
        await page.screenshot(path=OUT / f"kiosk-ticket-{w}x{h}.png")
        await page.click(".k-action.primary")
        await page.click("[data-service=GJJ] .k-take")
        for key in "13812345678":
            await page.click(f".k-key:text-is('{key}')")
        await page.screenshot(path=OUT / f"kiosk-keypad-{w}x{h}.png")
        await page.click(".k-action.secondary")
        await page.wait_for_selector("[data-service=SW]")
        p.clock.now = p.clock.now.replace(hour=18)
        await page.click("[data-service=SW] .k-take")
        await page.wait_for_selector(".k-error")
        await page.screenshot(path=OUT / f"kiosk-error-{w}x{h}.png")
        p.clock.now = p.clock.now.replace(hour=10)
        await page.close()


if __name__ == "__main__":
    asyncio.run(main())
