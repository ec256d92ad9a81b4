"""Composition: components declare what they need; the daemon builds the edges that serve it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web

from hallctl.components import Component, Needs
from hallctl.config import HallConfig, parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.wiring import FACTORIES, HttpFront, MqttComponent, compose, cursors
from tests.hall.conftest import SMALL_HALL


class Pinger:
    """A surface of our own: one route, one journal cursor."""

    name = "pinger"

    def __init__(self, engine: HallEngine) -> None:
        self.engine = engine

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({"hall": self.engine.hall_id})

    def needs(self) -> Needs:
        return Needs(routes=[web.get("/ping", self.ping)], cursors=["pinger"])

    async def run(self) -> None:
        await asyncio.Event().wait()


def pinger(config: HallConfig, engine: HallEngine) -> Component | None:
    return Pinger(engine)


def engine_on(config: HallConfig, tmp_path: Path) -> HallEngine:
    return HallEngine(config, Journal(tmp_path / "j.db"), secret=b"k" * 32)


def test_a_hall_file_without_optional_sections_composes_no_edges(tmp_path: Path) -> None:
    config = parse_config(SMALL_HALL)
    # only the daily report writer, which needs no edge
    assert [c.name for c in compose(config, engine_on(config, tmp_path))] == ["reports"]


def test_a_component_with_routes_gets_the_http_front_on_loopback_by_default(
    tmp_path: Path,
) -> None:
    config = parse_config(SMALL_HALL)
    parts = compose(config, engine_on(config, tmp_path), (*FACTORIES, pinger))
    fronts = [c for c in parts if isinstance(c, HttpFront)]
    assert [c.name for c in parts] == ["reports", "pinger", "http"] and len(fronts) == 1
    assert config.http is None  # the front was built on its defaults
    assert fronts[0].server.host == "127.0.0.1"
    assert cursors(parts) == ["pinger"]


def test_the_mqtt_link_declares_its_cursor_for_retention(tmp_path: Path) -> None:
    config = parse_config(SMALL_HALL + "mqtt: {url: 'mqtt://127.0.0.1:1'}\n")
    parts = compose(config, engine_on(config, tmp_path), (*FACTORIES, pinger))
    assert any(isinstance(c, MqttComponent) for c in parts)
    assert sorted(cursors(parts)) == ["mqtt", "pinger"]


async def test_routes_declared_by_a_component_are_served_by_the_front(tmp_path: Path) -> None:
    config = parse_config(SMALL_HALL + "http: {port: 0}\n")
    parts = compose(config, engine_on(config, tmp_path), (*FACTORIES, pinger))
    front = next(c for c in parts if isinstance(c, HttpFront))
    task = asyncio.create_task(front.run())
    try:
        for _ in range(200):
            if front.server.running:
                break
            await asyncio.sleep(0.01)
        async with aiohttp.ClientSession() as http, http.get(front.server.base_url + "/ping") as r:
            assert r.status == 200 and (await r.json()) == {"hall": config.hall.id}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_hall_without_pages_imports_none_of_their_code(tmp_path: Path) -> None:
    # the daemon's memory: surfaces the hall file does not ask for are not even imported
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path\n"
        "from hallctl.config import parse_config\n"
        "from hallctl.engine import HallEngine\n"
        "from hallctl.journal import Journal\n"
        "from hallctl.wiring import compose\n"
        "from tests.hall.conftest import SMALL_HALL\n"
        "c = parse_config(SMALL_HALL)\n"
        f"e = HallEngine(c, Journal(Path({str(tmp_path)!r}) / 'j.db'), secret=b'k' * 32)\n"
        "compose(c, e)\n"
        "heavy = ['argon2', 'itsdangerous', 'segno', 'hallctl.web.component',\n"
        "         'hallctl.accounts.http', 'matplotlib', 'openpyxl', 'asyncpg', 'nats']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
