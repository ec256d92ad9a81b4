"""Shared parts of the log-in and console tests (no tests here): a hall with staff, passwords,
and the components the daemon composes for it (engine, accounts, HTTP front), in this process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from hallctl.accounts.credentials import Credentials
from hallctl.accounts.http import Accounts
from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.wiring import HttpFront, compose

HALL = """
version: 1
hall: {id: web-hall, name: 测试大厅, timezone: Asia/Shanghai}
data_dir: %(dir)s
services:
  - {code: BDC, name: 不动产登记, prefix: A}
  - {code: SB, name: 社保, prefix: B}
windows:
  - {number: 1, services: [BDC], default_staff: S1}
  - {number: 2, services: [BDC, SB]}
  - {number: 3, services: [SB]}
staff:
  - {id: S1, name: 王芳, staff_no: "0101"}
  - {id: S2, name: 李强, staff_no: "0102", role: B, windows: [2]}
  - {id: BOSS, name: 张主任, staff_no: "9001", access: supervisor}
http: {port: 0}
accounts: {lockout_failures: 3}
"""
PASSWORDS = {"S1": "wang-0101", "S2": "li-0102", "BOSS": "boss-9001"}


@dataclass
class Web:
    engine: HallEngine
    accounts: Accounts
    base: str
    journal: Path

    def events(self, type_: str) -> list[dict[str, Any]]:
        with Journal(self.journal) as j:
            return [json.loads(r.data) for r in j.replay() if r.type == type_]


@asynccontextmanager
async def web_hall(tmp_path: Path, extra: str = "") -> AsyncIterator[Web]:
    config: HallConfig = parse_config(HALL % {"dir": tmp_path} + extra)
    creds = Credentials(tmp_path / "credentials.json")
    for staff, password in PASSWORDS.items():
        creds.set_password(staff, password)
    with Journal(tmp_path / "journal.db") as journal:
        engine = HallEngine(config, journal, secret=b"k" * 32)
        engine.recover()
        parts = compose(config, engine)
        front = next(p for p in parts if isinstance(p, HttpFront))
        accounts = next(p for p in parts if isinstance(p, Accounts))
        tasks = [asyncio.create_task(engine.run())]
        tasks += [asyncio.create_task(p.run()) for p in parts]
        try:
            await front.started.wait()
            yield Web(engine, accounts, front.server.base_url, tmp_path / "journal.db")
        finally:
            for t in reversed(tasks):
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        yield s


async def login(s: aiohttp.ClientSession, web: Web, staff: str, password: str,
                **extra: Any) -> tuple[int, dict[str, Any]]:
    async with s.post(web.base + "/api/login",
                      json={"staff": staff, "password": password, **extra}) as r:
        return r.status, await r.json()


async def act(s: aiohttp.ClientSession, web: Web, csrf: str | None,
              **request: Any) -> tuple[int, dict[str, Any]]:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    async with s.post(web.base + "/api/act", json=request, headers=headers) as r:
        return r.status, await r.json()
