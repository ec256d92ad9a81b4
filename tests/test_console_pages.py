"""The staff console and the supervisor page in a real browser (Debian's Chromium), against the
components the daemon runs: a window's day from a browser tab, and a supervisor who steers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.async_api import Browser, Page, expect

from tests.accounts_support import PASSWORDS, Web, web_hall
from tests.browser import chromium

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def console(browser: Browser, web: Web, staff_no: str, staff: str, window: int | None,
                  *, path: str = "/staff", size: tuple[int, int] = (1366, 768)) -> Page:
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = await context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url)
            if urlparse(r.url).netloc != urlparse(web.base).netloc else None)
    page.foreign = foreign  # type: ignore[attr-defined]
    await page.goto(web.base + path)
    await page.fill("#login-staff", staff_no)
    await page.fill("#login-password", PASSWORDS[staff])
    if window is not None:
        await page.fill("#login-window", str(window))
    await page.click("button[type=submit]")
    return page


async def test_a_window_runs_its_day_from_the_keyboard(browser: Browser, tmp_path: Path) -> None:
    async with web_hall(tmp_path) as web:
        for service in ("BDC", "BDC", "SB"):
            await web.engine.execute({"action": "take_ticket", "service": service})
        await web.engine.execute({"action": "open_window", "window": 2})
        page = await console(browser, web, "0102", "S2", 2)
        await expect(page.locator("#window-name")).to_have_text("2号窗口")
        await expect(page.locator(".bar .who")).to_contain_text("李强")
        await page.keyboard.press("F1")  # 叫号
        await expect(page.locator("#ticket-in-hand")).to_have_text("A001")
        await page.keyboard.press("F2")  # 重呼
        await expect(page.locator(".in-hand")).to_contain_text("重呼 1 次")
        await page.keyboard.press("F4")  # 开始办理
        await expect(page.locator(".in-hand")).to_have_attribute("data-state", "serving")
        await page.keyboard.press("F8")  # 转移 → 社保, to the front
        await page.select_option(".dialog select[name=service]", "SB")
        await page.check(".dialog input[name=front]")
        await page.click(".dialog button.primary")
        await expect(page.locator(".in-hand.empty")).to_be_visible()
        await page.keyboard.press("F1")
        await expect(page.locator("#ticket-in-hand")).to_have_text("A001")  # front of 社保
        await page.keyboard.press("F4")
        await page.keyboard.press("F5")  # 办结 with a case number
        await page.fill(".dialog input[name=case_no]", "BJ-2026-0001")
        await page.click(".dialog button.primary")
        await expect(page.locator("#count-served")).to_have_text("1")
        # the citizen rates on the evaluator; the console shows the result
        await web.engine.execute({"action": "evaluate", "window": 2, "level": 2,
                                  "reason": "等候太久", "source": "evaluator-2"})
        await expect(page.locator("#last-evaluation")).to_contain_text("不满意")
        await expect(page.locator("#last-evaluation")).to_contain_text("等候太久")
        assert page.foreign == []  # type: ignore[attr-defined]
    finished = web.events("ticket.finished")
    assert [(e["ticket"], e.get("case_no"), e["by"], e["via"]) for e in finished] == [
        ("A001", "BJ-2026-0001", "S2", "web")]
    transferred = web.events("ticket.transferred")
    assert transferred[0]["to_service"] == "SB" and transferred[0]["front"] is True


async def test_calling_a_ticket_out_of_order_needs_a_reason_and_is_journaled(
    browser: Browser, tmp_path: Path
) -> None:
    async with web_hall(tmp_path) as web:
        for _ in range(3):
            await web.engine.execute({"action": "take_ticket", "service": "BDC"})
        await web.engine.execute({"action": "open_window", "window": 1})
        page = await console(browser, web, "0101", "S1", 1)
        await page.click(".next-ticket:has-text('A003')")
        await page.fill(".dialog input[name=reason]", "行动不便优先")
        await page.click(".dialog button.primary")
        await expect(page.locator("#ticket-in-hand")).to_have_text("A003")
    called = web.events("ticket.called")
    assert called[0]["out_of_order"] is True and called[0]["reason"] == "行动不便优先"


async def test_two_consoles_on_one_window_see_each_other_and_the_supervisor_closes_it(
    browser: Browser, tmp_path: Path
) -> None:
    async with web_hall(tmp_path) as web:
        await web.engine.execute({"action": "take_ticket", "service": "BDC"})
        await web.engine.execute({"action": "open_window", "window": 1})
        first = await console(browser, web, "0101", "S1", 1)
        second = await console(browser, web, "0101", "S1", 1)
        await expect(second.locator("#window-name")).to_be_visible()
        await first.keyboard.press("F1")
        await expect(second.locator("#ticket-in-hand")).to_have_text("A001", timeout=1000)
        boss = await console(browser, web, "9001", "BOSS", None, path="/supervisor",
                             size=(1920, 1080))
        card = boss.locator("article[data-window='1']")
        await expect(card).to_contain_text("A001")
        await card.locator("button.danger").click()  # 关窗
        await expect(first.locator("#window-status")).to_have_text("关闭")
        await expect(second.locator("#window-status")).to_have_text("关闭")
        # a staff member who opens /supervisor gets no steering
        staff = await console(browser, web, "0102", "S2", None, path="/supervisor")
        await expect(staff.locator("h1")).to_have_text("需要监管权限")
    closed = web.events("window.closed")
    assert [(e["window"], e["by"]) for e in closed] == [(1, "BOSS")]


async def test_a_supervisor_stops_issuing_and_the_kiosks_are_refused(
    browser: Browser, tmp_path: Path
) -> None:
    async with web_hall(tmp_path) as web:
        boss = await console(browser, web, "9001", "BOSS", None, path="/supervisor",
                             size=(1920, 1080))
        row = boss.locator("tr[data-service='SB']")
        await row.locator("button.danger").click()
        await boss.fill(".dialog input[name=reason]", "系统升级")
        await boss.click(".dialog button.primary")
        await expect(row.locator("button:has-text('恢复取号')")).to_be_visible()
        answer = await web.engine.execute({"action": "take_ticket", "service": "SB"})
        assert answer["error"]["code"] == "issuing_stopped"
