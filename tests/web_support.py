"""Shared parts of the web page tests (no tests here): a hall with its pages, in this process.

`running_pages` starts the REAL pieces the daemon runs: HallEngine on a journal file, the kiosk
gateway, the web component and the HTTP front on a free loopback port. Tests reach it with a
real HTTP client or a real browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.transports.http import HttpServer
from hallctl.web.component import WebPages
from hallctl.web.tokens import token_hash
from hallctl.wiring import KioskComponent

TZ = ZoneInfo("Asia/Shanghai")
PHOTOS = Path(__file__).parent / "data" / "photos"  # S01.png, S02.png
# Tokens of the test screens: "tok-<screen id>"; the hall file holds only their hashes.
SCREENS = {
    "main": "display", "floor2": "display", "w1": "window", "w2": "window", "w3": "window",
    "w4": "window", "K1": "kiosk",
    "K2": "kiosk",
}


def token(screen: str) -> str:
    return f"tok-{screen}"


def _screens() -> str:
    lines = []
    for sid, page in SCREENS.items():
        extra = {"w1": ", window: 1", "w2": ", window: 2", "w3": ", window: 3", "w4": ", window: 4",
                 "floor2": ", windows: [3, 4], services: [GJJ, HJ], title: 二楼办事区"}.get(sid, "")
        digest = token_hash(token(sid))
        lines.append(f"    - {{id: {sid}, page: {page}, token_sha256: {digest}{extra}}}")
    return "\n".join(lines)


HALL = """
version: 1
hall: {id: web-hall, name: 示范市政务服务中心, timezone: Asia/Shanghai}
services:
  - code: BDC
    name: 不动产登记
    name_en: Real estate registration
    group: 不动产
    prefix: A
    avg_service_min: 12
    kind: promised
    promised_days: 5
    guide:
      description: 不动产首次登记、转移登记、抵押登记
      materials: [身份证原件, 不动产权证书, 购房合同]
      fees: 80元/件
  - {code: SBYB, name: 社保医保, name_en: Social insurance, group: 社保医保, prefix: B}
  - {code: GJJ, name: 公积金, name_en: Housing fund, group: 社保医保, prefix: C,
     one_per_person: true}
  - {code: QYKB, name: 企业开办, name_en: Business start-up, group: 企业服务, prefix: D}
  - {code: SW, name: 税务, name_en: Taxation, group: 企业服务, prefix: E, hours: ["%(hours)s"]}
  - {code: HJ, name: 户籍, name_en: Household registration, prefix: F}
windows:
  - {number: 1, services: [BDC]}
  - {number: 2, services: [BDC, SBYB]}
  - {number: 3, services: [SBYB, GJJ]}
  - {number: 4, services: [QYKB, SW, HJ]}
staff:
  - {id: S01, name: 王芳, staff_no: "0101"}
  - {id: S02, name: 李强, staff_no: "0102"}
  - {id: S03, name: 张敏, staff_no: "0103"}
data_dir: %(data_dir)s
kiosks:
  refuse_when_unstaffed: false
  kiosks:
    - {id: K1, name: 一楼大厅入口, rate_per_min: %(rate)s, burst: %(burst)s%(printer)s}
    - {id: K2, name: 二楼电梯口, green_channel: true}
web:
  notice: 请携带本人有效身份证件，按叫号顺序到指定窗口办理业务。
  kiosk_idle_s: 30
  photos_dir: %(photos)s
  screens:
%(screens)s
%(extra)s
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 10, 30, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.now


def hall_text(data_dir: Path, *, hours: str = "00:00-24:00", rate: int = 120, burst: int = 40,
              printer: str | None = None, extra: str = "") -> str:
    return HALL % {
        "data_dir": data_dir, "hours": hours, "rate": rate, "burst": burst,
        "printer": f", printer: {printer}" if printer else "", "screens": _screens(),
        "extra": extra, "photos": PHOTOS,
    }


@dataclass
class Pages:
    engine: HallEngine
    config: HallConfig
    web: WebPages
    url: str
    clock: Clock

    async def do(self, action: str, **fields: Any) -> dict[str, Any]:
        answer = await self.engine.execute({"action": action, **fields})
        assert answer["ok"], answer
        return answer["result"]  # type: ignore[no-any-return]

    def page(self, path: str, screen: str) -> str:
        return f"{self.url}{path}?t={token(screen)}"


@contextlib.asynccontextmanager
async def running_pages(data_dir: Path, **options: Any) -> AsyncIterator[Pages]:
    config = parse_config(hall_text(data_dir, **options), env={})
    assert config.web is not None and config.kiosks is not None
    clock = Clock()
    with Journal(data_dir / "journal.db") as journal:
        engine = HallEngine(config, journal, secret=b"s" * 32, clock=clock)
        engine.recover()
        kiosks = KioskComponent(config, engine)
        web = WebPages(config, config.web, engine)
        server = HttpServer("127.0.0.1", 0)
        server.add_routes(kiosks.needs().routes + web.needs().routes)
        async with server, asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(engine.run()), tg.create_task(web.run())]
            try:
                yield Pages(engine, config, web, server.base_url, clock)
            finally:
                for task in tasks:
                    task.cancel()


async def sse_messages(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[str, dict[str, Any], str | None]]:
    """(event, data, id) of each SSE message on a live channel."""
    async with session.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "text/event-stream"
        event, data, ident = "message", "", None
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if not line:
                if data:
                    yield event, json.loads(data), ident
                event, data, ident = "message", "", None
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif line.startswith("id: "):
                ident = line[4:]
