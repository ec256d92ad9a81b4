"""Screenshots of the staff console and the supervisor page, into docs/screenshots/.

    .venv/bin/python scripts/console_screenshots.py

Runs a small hall in this process (tests/accounts_support.py) with a busy morning, and Debian's
Chromium. Look at every image after a change to these pages.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.accounts_support import PASSWORDS, Web, web_hall  # noqa: E402
from tests.browser import chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


async def busy(web: Web) -> None:
    e = web.engine.execute
    await e({"action": "open_window", "window": 1, "staff": "S1"})
    await e({"action": "open_window", "window": 2, "staff": "S2"})
    await e({"action": "open_window", "window": 3})
    for service, n in (("BDC", 8), ("SB", 5)):
        for _ in range(n):
            await e({"action": "take_ticket", "service": service})
    await e({"action": "take_ticket", "service": "BDC", "channel": "green"})
    await e({"action": "call_next", "window": 1})
    await e({"action": "call_next", "window": 2})
    await e({"action": "start_service", "window": 2})
    await e({"action": "suspend", "window": 2})
    await e({"action": "call_next", "window": 2})
    await e({"action": "pause_window", "window": 3, "reason": "午休"})
    await e({"action": "set_service_issuing", "service": "SB", "issuing": False,
             "reason": "系统升级"})


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with web_hall(Path(tmp)) as web, chromium() as browser:
            await busy(web)
            for path, who, window, sizes, name in (
                ("/staff", "0102", 2, [(1366, 768), (1920, 1080)], "staff-console"),
                ("/supervisor", "9001", None, [(1366, 768), (1920, 1080)], "supervisor"),
            ):
                for w, h in sizes:
                    ctx = await browser.new_context(viewport={"width": w, "height": h})
                    page = await ctx.new_page()
                    await page.goto(web.base + path)
                    if name == "staff-console" and w == 1366:
                        await page.screenshot(path=str(OUT / f"staff-login-{w}x{h}.png"))
                    staff = next(k for k, v in {"S2": "0102", "BOSS": "9001"}.items() if v == who)
                    await page.fill("#login-staff", who)
                    await page.fill("#login-password", PASSWORDS[staff])
                    if window:
                        await page.fill("#login-window", str(window))
                    await page.click("button[type=submit]")
                    await page.wait_for_selector(".bar .num")
                    await page.wait_for_timeout(400)
                    await page.screenshot(path=str(OUT / f"{name}-{w}x{h}.png"))
                    await ctx.close()
    print(f"wrote screenshots to {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
