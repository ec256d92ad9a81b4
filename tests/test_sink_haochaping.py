"""好差评 upload: the documented sample mapping turns the hall's evaluations into the province's
records; failures retry, refusals and unmappable records park the sink with an alarm."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hallctl.config import ConfigError
from hallctl.engine import HallEngine
from hallctl.forward.haochaping import MappingError, load_mapping
from tests.sinks_support import hall_config, running_engine, sinks_running, wait_for

SAMPLE = Path(__file__).parent.parent / "config" / "haochaping-sample.yaml"
STAFF = """staff:
  - {id: S1, name: 王芳, staff_no: "0101", windows: [1]}
"""


class Platform:
    """A provincial interface stand-in: real HTTP, answers scripted, uploads recorded."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.records: list[dict[str, Any]] = []
        self.keys: list[str | None] = []
        self.url = ""

    async def _upload(self, request: web.Request) -> web.Response:
        action = self.script.pop(0) if self.script else "ok"
        if isinstance(action, int):
            return web.Response(status=action)
        body = await request.json()
        if action == "refuse":
            return web.json_response({"code": "4001", "msg": "事项编码不存在"})
        self.keys.append(request.headers.get("appKey"))
        self.records.extend(body["data"])
        return web.json_response({"code": "0", "msg": "成功"})

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Platform]:
        app = web.Application()
        app.router.add_post("/upload", self._upload)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/upload"
        try:
            yield self
        finally:
            await runner.cleanup()


def sink_yaml(url: str, mapping: Path) -> str:
    return STAFF + (
        f"sinks:\n  - {{name: hcp, type: haochaping, url: '{url}', mapping: '{mapping}', "
        "region_code: '610113', department_code: '11610100MB2955226X', "
        "app_key_env: HCP_KEY, start: beginning, retry_min_s: 0.01, retry_max_s: 0.05, "
        "park_retry_s: 0.2}\n"
    )


async def serve_and_evaluate(engine: HallEngine, service: str, level: int, **more: Any) -> None:
    for request in (
        {"action": "open_window", "window": 2},
        {"action": "assign_staff", "window": 2, "staff": "S1"},
        {"action": "take_ticket", "service": service},
        {"action": "call_next", "window": 2},
        {"action": "finish", "window": 2},
        {"action": "evaluate", "window": 2, "level": level, **more},
    ):
        answer = await engine.execute(request)
        assert answer["ok"] or answer["error"]["code"] == "window_open", answer


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HCP_KEY", "key-123")


async def test_the_sample_mapping_uploads_each_evaluation_once(tmp_path: Path) -> None:
    async with Platform().running() as platform, running_engine(
        tmp_path, sink_yaml(platform.url, SAMPLE)
    ) as engine:
        platform.script = [503]  # a server error first: retried
        await serve_and_evaluate(engine, "BDC", 5, case_no="XA-2026-0001")
        await serve_and_evaluate(engine, "SB", 1, reason="等候时间过长")
        async with sinks_running(engine):
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:hcp") == last)
    assert [r["alternate"] for r in platform.records] == [5, 1]
    good, bad = platform.records
    assert good["projNo"] == "XA-2026-0001" and bad["projNo"] == ""
    assert good["serviceCode"] == "11610100MB2955226X4000117008000"
    assert bad["appraisald"] == "等候时间过长"
    assert good["staffNo"] == "0101" and good["staffName"] == "王芳"
    assert good["areaCode"] == "610113" and good["deptCode"] == "11610100MB2955226X"
    assert len(good["assessTime"]) == 19 and good["assessTime"][4] == "-"
    assert good["pf"] == "3" and good["windowNo"] == 2
    assert platform.keys == ["key-123"]  # both in one batch: the sink started after them
    ids = [r["evaluateId"] for r in platform.records]
    assert len(set(ids)) == 2


async def test_a_service_without_a_code_parks_the_sink_with_an_alarm(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(SAMPLE.read_text(encoding="utf-8"))
    async with Platform().running() as platform, running_engine(
        tmp_path, sink_yaml(platform.url, mapping)
    ) as engine:
        await serve_and_evaluate(engine, "SB", 4)
        # edited after `hallctl check` passed: the sink finds out when it (re)starts
        mapping.write_text(SAMPLE.read_text(encoding="utf-8").replace("      SB:", "      XX:"))
        async with sinks_running(engine) as sinks:
            await wait_for(lambda: sinks.report()[0]["state"] == "parked")
            assert "serviceCode" in sinks.report()[0]["last_error"]
            assert "SB" in sinks.report()[0]["last_error"]
            assert any(a["device"] == "sink:hcp" for a in engine.hall.state.device_alarms.values())
            # the operator adds the code: the parked batch goes up on the next try
            mapping.write_text(SAMPLE.read_text(encoding="utf-8"))
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:hcp") >= last, within_s=5)
    assert [r["serviceCode"] for r in platform.records] == ["11610100MB2955226X4000116001000"]


async def test_a_refusal_by_the_platform_parks_the_sink(tmp_path: Path) -> None:
    async with Platform().running() as platform, running_engine(
        tmp_path, sink_yaml(platform.url, SAMPLE)
    ) as engine:
        platform.script = ["refuse"]
        await serve_and_evaluate(engine, "BDC", 3)
        async with sinks_running(engine) as sinks:
            await wait_for(lambda: sinks.report()[0]["state"] == "parked")
            assert "事项编码不存在" in sinks.report()[0]["last_error"]
            last = engine.last_seq()
            await wait_for(lambda: engine.journal.cursor("sink:hcp") >= last, within_s=5)
    assert len(platform.records) == 1


def test_hallctl_check_finds_what_the_mapping_lacks(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    text = SAMPLE.read_text(encoding="utf-8")
    mapping.write_text(text.replace("      SB:", "      XX:").replace("from: reason", "from: why"))
    with pytest.raises(ConfigError) as info:
        hall_config(tmp_path, sink_yaml("http://127.0.0.1:1/up", mapping))
    message = str(info.value)
    assert "no code for service SB" in message and "no value named 'why'" in message
    hall_config(tmp_path, sink_yaml("http://127.0.0.1:1/up", SAMPLE))  # the sample fits


def test_a_bad_mapping_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  projNo: {from: case_no}\n  pf: {const: '3', from: x}\n")
    with pytest.raises(MappingError, match="line 3"):
        load_mapping(bad)
    assert load_mapping(SAMPLE).fields["serviceCode"].required
