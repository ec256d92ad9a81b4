"""Helpers for sink tests: a real hall engine on a real journal, and a webhook receiver that fails
in every way a real one does (5xx, 4xx, timeouts, dropped connections, slowness)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.forward.sinks import SinksComponent
from hallctl.journal import Journal
from tests.system.halls import OPEN_ALL_DAY_HALL
from tests.webhook_check import verify_signature

SECRET = "s3cret-for-tests"


def hall_config(tmp: Path, extra: str = "", hall: str = "sys-hall") -> HallConfig:
    text = OPEN_ALL_DAY_HALL.format(data_dir=tmp / "data", extra=extra)
    return parse_config(text.replace("id: sys-hall,", f"id: {hall},"))


@contextlib.asynccontextmanager
async def running_engine(
    tmp: Path, extra: str = "", hall: str = "sys-hall"
) -> AsyncIterator[HallEngine]:
    """A real engine with its journal writer, as the daemon runs it."""
    config = hall_config(tmp, extra, hall)
    with Journal(config.data_dir / "journal.db") as journal:
        engine = HallEngine(config, journal, secret=b"k" * 32)
        engine.recover()
        writer = asyncio.create_task(engine.run())
        try:
            yield engine
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


@contextlib.asynccontextmanager
async def sinks_running(engine: HallEngine) -> AsyncIterator[SinksComponent]:
    """The sinks component of the engine's hall file, running as the daemon runs it."""
    component = SinksComponent(engine.config, engine)
    task = asyncio.create_task(component.run())
    try:
        yield component
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def issue(engine: HallEngine, n: int, service: str = "SB") -> None:
    """n tickets, concurrently (group commit), each acknowledged = durable."""
    answers = await asyncio.gather(
        *(engine.execute({"action": "take_ticket", "service": service}) for _ in range(n))
    )
    assert all(a["ok"] for a in answers), answers[:3]


def journal_ids(journal: Journal) -> list[str]:
    return [r.id for r in journal.replay()]


async def wait_for(condition: Callable[[], bool], within_s: float = 10.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)


class WebhookReceiver:
    """A real aiohttp server. `script` says how to answer the next requests, one entry each:
    "ok", an HTTP status (500, 400…), "timeout" (never answers in time), "drop" (closes the
    connection without an answer), "ok-late" (stores the batch, then answers too late: the
    sender must send it again and we must keep one copy). After the script: always "ok"."""

    def __init__(self, secret: str = SECRET, delay_s: float = 0.0) -> None:
        self.secret = secret.encode()
        self.delay_s = delay_s
        self.script: list[str | int] = []
        self.requests = 0
        self.accepted: list[dict[str, Any]] = []  # every event of every stored batch (repeats too)
        self.bad_signatures = 0
        self.clock: Callable[[], float] = time.time  # the receiver's clock, for replay tests
        self.signed: list[tuple[dict[str, str], bytes]] = []  # headers and body of good requests
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()  # ends the answers that "never" come
        self.url = ""

    @property
    def unique(self) -> list[dict[str, Any]]:
        seen: set[str] = set()
        out = []
        for event in self.accepted:
            if event["id"] not in seen:
                seen.add(event["id"])
                out.append(event)
        return out

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        self._closing.set()
        await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        action = self.script.pop(0) if self.script else "ok"
        body = await request.read()
        header = request.headers.get("X-Hallctl-Signature", "")
        if not verify_signature(self.secret, header, body, now=self.clock()):  # docs/backends.md
            self.bad_signatures += 1
            return web.Response(status=401, text="bad signature")
        self.signed.append((dict(request.headers), body))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if action == "timeout":
            await self._closing.wait()
        if action == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if isinstance(action, int):
            return web.Response(status=action, text=f"scripted {action}")
        self.accepted.extend(json.loads(body)["events"])
        if action == "ok-late":
            await self._closing.wait()
        return web.Response(status=204)
