"""Shared parts of the kiosk tests (no tests here): a hall run the way the daemon runs it.

`running_hall` starts the REAL pieces: HallEngine on a journal file, and the components that
`hallctl.wiring` builds from the hall file (the kiosk gateway and the MQTT link), against a
real Mosquitto. Kiosks are `hallctl.kiosk.sim.KioskSim` clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.kiosk.sim import KioskSim
from hallctl.wiring import compose
from tests.test_mqtt_support import Collector, subscribed

TZ = ZoneInfo("Asia/Shanghai")
HALL_ID = "xa-zwfw"
BASE = f"hallctl/{HALL_ID}"  # the base topic of docs/kiosks.md, so its ACL applies verbatim
DOCS = Path(__file__).resolve().parents[1] / "docs" / "kiosks.md"

HALL = """
version: 1
hall: {id: xa-zwfw, name: 西安市政务服务中心, timezone: Asia/Shanghai}
services:
  - code: BDC
    name: 不动产登记
    name_en: Real estate registration
    prefix: A
    daily_cap: 50
    avg_service_min: 10
    kind: promised
    promised_days: 5
    guide:
      description: 不动产首次登记、转移登记
      materials: [身份证原件, 不动产权证书, 购房合同]
      fees: 80元/件
      legal_time_limit_days: 30
  - {code: SB, name: 社保, prefix: B, daily_cap: 2}
  - {code: GJJ, name: 公积金, prefix: C, hours: ["09:00-12:00"], one_per_person: true}
  - {code: ZH, name: 综合受理, prefix: H, green_channel: false}
windows:
  - {number: 1, services: [BDC]}
  - {number: 2, services: [BDC, SB]}
  - {number: 3, services: [GJJ, ZH]}
  - {number: 9, name: 9号窗口（夜间）, services: [SB]}
mqtt:
  url: %(url)s
  reconnect_min_s: 0.05
  reconnect_max_s: 0.5
  state_interval_ms: 50
  keepalive: 5
%(mqtt_extra)s
kiosks:
  kiosks:
    - {id: K1, name: 一楼入口}
    - {id: K2, name: 二楼}
    - {id: KG, name: 导服台, green_channel: true}
    - {id: KSLOW, rate_per_min: 6, burst: 2}
    - {id: KLOOK, allow: [list_services, queue_status]}
"""


class Clock:
    """The hall's clock, settable by tests (issuing hours, day rollover)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 30, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.now


def hall_config(url: str, mqtt_extra: str = "") -> HallConfig:
    return parse_config(HALL % {"url": url, "mqtt_extra": mqtt_extra}, env={})


@dataclass
class Hall:
    engine: HallEngine
    journal_path: Path
    clock: Clock
    events: Collector  # everything the link forwards under <base>/events/#
    url: str

    async def do(self, action: str, **fields: Any) -> dict[str, Any]:
        """A back-office request straight to the engine (staff at a window)."""
        answer = await self.engine.execute({"action": action, **fields})
        assert answer["ok"], answer
        return answer["result"]  # type: ignore[no-any-return]

    def kiosk(self, kiosk_id: str, **options: Any) -> KioskSim:
        return KioskSim(self.url, BASE, kiosk_id, **options)

    def journal_types(self) -> list[str]:
        with Journal(self.journal_path) as j:
            return [r.type for r in j.replay()]


@contextlib.asynccontextmanager
async def running_hall(
    url: str, data_dir: Path, *, mqtt_extra: str = "", events_options: dict[str, Any] | None = None
) -> AsyncIterator[Hall]:
    config = hall_config(url, mqtt_extra)
    clock = Clock()
    journal_path = data_dir / "journal.db"
    with Journal(journal_path) as journal:
        engine = HallEngine(config, journal, secret=b"s" * 32, clock=clock)
        engine.recover()
        async with subscribed(url, f"{BASE}/events/#", f"{BASE}/status",
                              **(events_options or {})) as seen:
            tasks: list[asyncio.Future[None]] = [asyncio.ensure_future(engine.run())]
            tasks += [asyncio.ensure_future(c.run()) for c in compose(config, engine)]
            try:
                await seen.wait_until(lambda: seen.last(f"{BASE}/status") == b"online")
                yield Hall(engine, journal_path, clock, seen, url)
            finally:
                for task in reversed(tasks):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task


def documented_acl() -> str:
    """The Mosquitto ACL of docs/kiosks.md, exactly as an operator would copy it."""
    found = re.search(r"```acl\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, "docs/kiosks.md has no ```acl block"
    return found.group(1)
