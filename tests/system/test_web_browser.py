"""The hall pages in a real browser (Debian's Chromium), through the real daemon process.

One story, one browser: a citizen taps a service on the kiosk page, the kiosk's own ESC/POS
printer (a pty) prints that number, a window calls it from the command line, and the main
display and the window screen show it; the daemon restarts under the open pages and they
recover by themselves; a wrong token and an out-of-hours tap are refused clearly. Every request
the browser makes goes to hallctl, and each page's first load stays under 300 KB.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, Request, Response, expect

from hallctl.sim.printer import PrinterSim
from hallctl.web.tokens import token_hash
from tests.browser import chromium
from tests.serial_support import eventually
from tests.system.halls import DaemonProcess

PAGE_BUDGET = 300 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_hours() -> str:
    """Issuing hours that do not include the hall's present time."""
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    return "00:00-01:00" if hour >= 2 else "12:00-13:00"


def hall_file(tmp: Path, port: int, printer: Path) -> Path:
    screens = "\n".join(
        f"    - {{id: {sid}, page: {page}, token_sha256: {token_hash('tok-' + sid)}{extra}}}"
        for sid, page, extra in (("main", "display", ""), ("w1", "window", ", window: 1"),
                                 ("K1", "kiosk", ""))
    )
    path = tmp / "hall.yaml"
    path.write_text(f"""
version: 1
hall: {{id: web-e2e, name: 浏览器测试大厅, timezone: Asia/Shanghai}}
services:
  - {{code: BDC, name: 不动产登记, prefix: A}}
  - {{code: SW, name: 税务, prefix: E, hours: ["{closed_hours()}"]}}
windows:
  - {{number: 1, services: [BDC, SW]}}
staff:
  - {{id: S01, name: 王芳, staff_no: "0101"}}
data_dir: {tmp / "data"}
http: {{host: 127.0.0.1, port: {port}}}
serial:
  devices:
    - {{id: prn, kind: escpos, port: {printer}, status_poll_s: 0.5}}
kiosks:
  kiosks:
    - {{id: K1, name: 一楼入口, printer: prn}}
web:
  kiosk_idle_s: 5
  screens:
{screens}
""", encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "hallctl.cli", *args, "-c", str(config)],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


class Traffic:
    """Every request a page makes, and the bytes of its first load."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.bytes = 0
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)

    async def _response(self, response: Response) -> None:
        if "text/event-stream" in response.headers.get("content-type", ""):
            return  # the live stream never ends; its messages are not page weight
        self.bytes += len(await response.body())


@pytest.mark.timeout(120)
async def test_kiosk_tap_prints_a_ticket_that_a_window_calls_onto_every_screen(
    short_tmp_path: Path,
) -> None:
    tmp = short_tmp_path
    port = free_port()
    printer = PrinterSim(tmp / "tty-prn")
    printer.start()
    config = hall_file(tmp, port, printer.link)
    daemon = DaemonProcess(config, tmp / "daemon.log")
    base = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(daemon.start)
    try:
        await asyncio.to_thread(cli, config, "open", "1", "--staff", "S01")
        async with chromium() as browser:
            kiosk = await browser.new_page(viewport={"width": 1080, "height": 1920})
            display = await browser.new_page(viewport={"width": 1920, "height": 1080})
            window = await browser.new_page(viewport={"width": 800, "height": 480})
            traffic = {p: Traffic(p) for p in (kiosk, display, window)}
            await kiosk.goto(f"{base}/kiosk/K1?t=tok-K1")
            await display.goto(f"{base}/display/main?t=tok-main")
            await window.goto(f"{base}/display/window/1?t=tok-w1")
            await expect(window.locator(".w-staff-name")).to_have_text("王芳")

            # a tap: the ticket shows on the page and comes out of the kiosk's own printer
            await kiosk.click("[data-service=BDC] .k-take")
            await expect(kiosk.locator(".k-ticket-no")).to_have_text("A001")
            await expect(kiosk.locator(".k-print")).to_contain_text("请取走")
            assert "<svg" in await kiosk.locator(".k-qr").inner_html()
            await eventually(lambda: len(printer.tickets) == 1, within=10)
            assert "A001" in printer.tickets[0].texts

            # a window calls it from the command line: both screens show it
            await asyncio.to_thread(cli, config, "call", "1")
            await expect(display.locator(".call.newest .ticket")).to_have_text("A001")
            await expect(display.locator(".win[data-window='1'] .win-ticket")).to_have_text("A001")
            await expect(window.locator(".w-ticket")).to_have_text("A001")
            for page in (kiosk, display, window):
                await page.evaluate("window.__sameDocument = true")

            # the daemon restarts under the open pages: they reconnect and show the new state
            assert await asyncio.to_thread(daemon.stop) == 0
            await expect(display.locator(".offline-badge")).to_be_visible()
            await asyncio.to_thread(daemon.start)
            await asyncio.to_thread(cli, config, "ticket", "BDC")
            await asyncio.to_thread(cli, config, "finish", "1")
            await asyncio.to_thread(cli, config, "call", "1")
            await expect(display.locator(".call.newest .ticket")).to_have_text("A002")
            await expect(window.locator(".w-ticket")).to_have_text("A002")
            await expect(display.locator(".offline-badge")).to_be_hidden()
            for page in (kiosk, display, window):
                assert await page.evaluate("window.__sameDocument") is True  # no reload

            # left alone, the kiosk went back home by itself (kiosk_idle_s: 5)
            await expect(kiosk.locator(".k-ticket")).to_have_count(0, timeout=15_000)
            # a ticket taken elsewhere: the kiosk's queue line follows live
            bdc_queue = kiosk.locator("[data-service=BDC] .k-svc-q")
            await expect(bdc_queue).to_contain_text("等候 0 人")
            await asyncio.to_thread(cli, config, "ticket", "BDC")
            await expect(bdc_queue).to_contain_text("等候 1 人")
            # out of hours: a clear error with the hours; nothing issued
            await kiosk.click("[data-service=SW] .k-take")
            await expect(kiosk.locator(".k-error h2")).to_have_text("当前不在取号时间内")
            await expect(kiosk.locator(".k-hours")).to_contain_text(closed_hours())
            await kiosk.click(".k-lang")
            await expect(kiosk.locator(".k-error h2")).to_contain_text("Outside issuing hours")

            # a wrong token: refused, and the page holds nothing of the hall
            stranger = await browser.new_page()
            answer = await stranger.goto(f"{base}/display/main?t=tok-K1")
            assert answer is not None and answer.status == 403
            assert "浏览器测试大厅" not in await stranger.content()

            for page, seen in traffic.items():
                assert seen.urls and all(u.startswith(base + "/") for u in seen.urls), seen.urls
                assert seen.bytes < PAGE_BUDGET, (page.url, seen.bytes)
        status = await asyncio.to_thread(daemon.request, {"action": "status"})
        assert status["result"]["tickets_today"] == 3  # the out-of-hours tap issued nothing
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            await asyncio.to_thread(daemon.stop)
        printer.close()
