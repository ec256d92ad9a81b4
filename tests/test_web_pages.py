"""The public pages over real HTTP: tokens, the live channel, the kiosk API and the notice line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from hallctl.journal import Journal
from tests.web_support import running_pages, sse_messages, token

PAGES = [("/display/main", "main"), ("/display/window/1", "w1"), ("/kiosk/K1", "K1")]


async def test_a_page_without_its_own_valid_token_gets_nothing(tmp_path: Path) -> None:
    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        for path, screen in PAGES:
            async with s.get(p.page(path, screen)) as ok:
                assert ok.status == 200 and p.config.hall.name in await ok.text()
            for bad in ("", "?t=", "?t=nope", f"?t={token('w2')}"):  # w2's token is not w1's
                async with s.get(p.url + path + bad) as resp:
                    body = await resp.text()
                    assert resp.status == 403 and p.config.hall.name not in body
        for live in ("/live/display/main", "/live/window/1", "/live/kiosk/K1"):
            async with s.get(f"{p.url}{live}?t={token('K2')}") as resp:
                assert resp.status == 403
        async with s.post(f"{p.url}/kiosk/K1/api/take_ticket", json={"service": "BDC"},
                          headers={"Authorization": f"Bearer {token('main')}"}) as resp:
            assert resp.status == 403
        assert p.engine.hall.state.issued == {}  # nothing reached the hall
        async with s.get(p.page("/display/nowhere", "main")) as resp:
            assert resp.status == 403  # an unknown screen looks like a bad token


async def test_live_channel_sends_the_view_then_changes_with_journal_ids(tmp_path: Path) -> None:
    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        await p.do("open_window", window=1, staff="S01")
        await p.do("open_window", window=4)
        await p.do("take_ticket", service="BDC")
        messages = sse_messages(s, p.page("/live/display/main", "main"))
        event, first, ident = await anext(messages)
        assert event == "view" and ident == str(p.engine.last_seq())
        view = first["view"]
        assert view["windows/1"]["staff"]["name"] == "王芳"
        assert view["services/BDC"]["waiting"] == 1 and view["calls"] == []
        await p.do("call_next", window=1)
        event, change, ident = await anext(messages)
        assert event == "change" and ident == str(p.engine.last_seq()) == str(change["seq"])
        assert change["set"]["calls"][0]["ticket"] == "A001"
        assert change["set"]["windows/1"]["current"]["ticket"] == "A001"
        assert [e["type"] for e in change["events"]] == ["ticket.called"]
        # only what changed: 企业开办 shares no window with 不动产登记 (社保医保 does, so its
        # estimate moves when window 1 takes the BDC ticket window 2 would have served)
        assert "services/QYKB" not in change["set"], sorted(
            (k, v, change["set"]["services/QYKB"].get(k))
            for k, v in view["services/QYKB"].items() if change["set"]["services/QYKB"].get(k) != v)
        await messages.aclose()


async def test_public_view_keeps_personal_data_out(tmp_path: Path) -> None:
    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        await p.do("open_window", window=3)
        await p.do("take_ticket", service="GJJ", id_value="13812345678")
        messages = sse_messages(s, p.page("/live/kiosk/K1", "K1"))
        _, first, _ = await anext(messages)
        await p.do("take_ticket", service="GJJ", id_value="13812340000")
        _, change, _ = await anext(messages)
        for text in (str(first), str(change)):
            assert "5678" not in text and "0000" not in text and "id_hash" not in text
        await messages.aclose()


async def test_a_notice_changed_by_request_is_journaled_and_reaches_pages(
    tmp_path: Path,
) -> None:
    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        messages = sse_messages(s, p.page("/live/display/floor2", "floor2"))
        _, first, _ = await anext(messages)
        assert first["view"]["notices"] == {"": p.config.web.notice}  # type: ignore[union-attr]
        await p.do("set_notice", text="系统升级，今日 16:00 停止取号", zone="floor2")
        _, change, _ = await anext(messages)
        assert change["set"]["notices"]["floor2"] == "系统升级，今日 16:00 停止取号"
        assert change["events"][0]["type"] == "notice.changed"
        bad = await p.engine.execute({"action": "set_notice", "text": "x" * 501})
        assert not bad["ok"] and bad["error"]["code"] == "bad_request"
        await messages.aclose()
    with Journal(tmp_path / "journal.db") as j:
        assert [r.type for r in j.replay()].count("notice.changed") == 1


async def test_kiosk_page_requests_share_the_mqtt_kiosks_rate_limit(tmp_path: Path) -> None:
    # K1 may make 3 requests at once: the page's list + 2 tickets, then it is refused
    async with running_pages(tmp_path, rate=6, burst=3) as p, aiohttp.ClientSession() as s:
        await p.do("open_window", window=1)
        auth = {"Authorization": f"Bearer {token('K1')}"}
        answers = []
        for action, body in (("list_services", {}), ("take_ticket", {"service": "BDC"}),
                             ("take_ticket", {"service": "BDC"}),
                             ("take_ticket", {"service": "BDC"})):
            async with s.post(f"{p.url}/kiosk/K1/api/{action}", json=body, headers=auth) as r:
                answers.append(await r.json())
        assert [a["ok"] for a in answers] == [True, True, True, False]
        assert answers[3]["error"]["code"] == "rate_limited"
        assert answers[1]["result"]["ticket"] == "A001" and "<svg" in answers[1]["result"]["qr_svg"]
        assert answers[1]["result"]["print"] == "none"  # K1 has no printer in this hall
        assert p.engine.hall.state.issued == {"BDC": 2}


async def test_kiosk_page_may_not_do_what_its_kiosk_may_not(tmp_path: Path) -> None:
    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        await p.do("open_window", window=1)
        auth = {"Authorization": f"Bearer {token('K1')}"}
        async with s.post(f"{p.url}/kiosk/K1/api/green_ticket", json={"service": "BDC"},
                          headers=auth) as r:
            assert (await r.json())["error"]["code"] == "forbidden"  # K1 has no green channel
        async with s.post(f"{p.url}/kiosk/K1/api/call_next", json={"window": 1},
                          headers=auth) as r:
            assert r.status == 404  # not a kiosk action at all
        rid = {"service": "BDC", "request_id": "tap-1"}
        async with s.post(f"{p.url}/kiosk/K1/api/take_ticket", json=rid, headers=auth) as r:
            first = await r.json()
        async with s.post(f"{p.url}/kiosk/K1/api/take_ticket", json=rid, headers=auth) as r:
            again = await r.json()
        assert first["result"]["ticket"] == again["result"]["ticket"] == "A001"  # a retried tap
        assert p.engine.hall.state.issued == {"BDC": 1}


@pytest.mark.parametrize("half", [b"GET /display/main HTTP/1.1\r\nHost: x\r\n", b""])
async def test_a_client_that_sends_half_a_header_is_cut_off_in_time(
    tmp_path: Path, half: bytes
) -> None:
    from hallctl.transports.http import HttpServer

    server = HttpServer("127.0.0.1", 0, header_timeout=0.5)
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(half)
        await writer.drain()
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, no answer
        assert asyncio.get_running_loop().time() - started < 2.0
        writer.close()


async def test_a_body_that_never_finishes_is_cut_off_in_time(tmp_path: Path) -> None:
    from aiohttp import web

    from hallctl.transports.http import HttpServer

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    server = HttpServer("127.0.0.1", 0, header_timeout=5, body_timeout=0.5)
    server.add_route("POST", "/echo", echo)
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        await writer.drain()
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        assert asyncio.get_running_loop().time() - started < 2.0
        writer.close()


async def test_the_front_serves_https_with_its_certificate(tmp_path: Path) -> None:
    import ssl

    from aiohttp import web

    from hallctl.broker import write_test_certificates
    from hallctl.transports.http import HttpServer, tls_context

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="你好")

    ca, cert, key = write_test_certificates(tmp_path / "tls")
    server = HttpServer("127.0.0.1", 0, ssl_context=tls_context(cert, key))
    server.add_route("GET", "/", hello)
    async with server, aiohttp.ClientSession() as s:
        assert server.base_url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(ca))
        async with s.get(server.base_url + "/", ssl=trusted) as resp:
            assert await resp.text() == "你好"
        with pytest.raises(aiohttp.ClientError):  # plain HTTP gets no answer
            async with s.get(f"http://127.0.0.1:{server.port}/") as resp:
                await resp.text()


async def test_appointment_check_in_and_unknown_codes_on_the_kiosk_page(tmp_path: Path) -> None:
    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        await p.do("open_window", window=1)
        await p.do("book_appointment", code="884512", service="BDC")
        auth = {"Authorization": f"Bearer {token('K1')}"}
        url = f"{p.url}/kiosk/K1/api/check_in"
        async with s.post(url, json={"appointment_code": "000000"}, headers=auth) as r:
            wrong = await r.json()
        assert wrong["error"]["code"] == "unknown_appointment"
        assert wrong["error"]["message_zh"] == "预约码无效或已使用"
        async with s.post(url, json={"appointment_code": "884512"}, headers=auth) as r:
            ticket = (await r.json())["result"]
        assert ticket["channel"] == "appointment" and ticket["service"] == "BDC"


async def test_voice_announcements_reach_pages_as_they_happen(tmp_path: Path) -> None:
    from hallctl.journal import Record

    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        messages = sse_messages(s, p.page("/live/display/main", "main"))
        await anext(messages)
        # what the voice component journals; the hub passes it on with its zone and audio URL
        data = '{"zone":"main","text":"请A001号到1号窗口","audio_url":"/voice/main/latest.wav"}'
        p.web.hub.publish([Record(p.engine.last_seq() + 1, "x", "voice.announced",
                                  "2026-11-30T10:30:00.000+08:00", "2026-11-30", None, 1, data)])
        _, change, _ = await anext(messages)
        [event] = change["events"]
        assert event["type"] == "voice.announced"
        assert event["data"] == {"zone": "main", "text": "请A001号到1号窗口",
                                 "audio_url": "/voice/main/latest.wav"}
        await messages.aclose()


async def test_kiosk_page_says_when_its_printer_cannot_print(tmp_path: Path) -> None:
    serial = "serial:\n  devices:\n    - {id: prn, kind: escpos, port: /dev/null-prn}\n"
    async with running_pages(tmp_path, printer="prn", extra=serial) as p, \
            aiohttp.ClientSession() as s:
        await p.do("open_window", window=1)
        auth = {"Authorization": f"Bearer {token('K1')}"}
        url = f"{p.url}/kiosk/K1/api/take_ticket"
        async with s.post(url, json={"service": "BDC"}, headers=auth) as r:
            assert (await r.json())["result"]["print"] == "printing"
        await p.do("device_alarm", device="prn", alarm="paper_out", active=True)
        async with s.post(url, json={"service": "BDC"}, headers=auth) as r:
            stopped = (await r.json())["result"]
        assert stopped["print"] == "stopped" and stopped["ticket"] == "A002"  # issued all the same
        messages = sse_messages(s, p.page("/live/kiosk/K1", "K1"))
        _, first, _ = await anext(messages)
        assert first["view"]["printers/prn"]["alarms"] == ["paper_out"]
        await messages.aclose()


async def test_staff_photos_go_only_to_display_and_window_screens(tmp_path: Path) -> None:
    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        await p.do("open_window", window=1, staff="S01")
        await p.do("open_window", window=3, staff="S03")  # S03 has no photo
        messages = sse_messages(s, p.page("/live/window/1", "w1"))
        _, first, _ = await anext(messages)
        assert first["view"]["windows/1"]["staff"]["photo"] == "/staff/S01/photo"
        assert "photo" not in first["view"]["windows/3"]["staff"]
        await messages.aclose()
        async with s.get(p.page("/staff/S01/photo", "w1")) as r:
            assert r.status == 200 and r.content_type == "image/png"
            assert (await r.read()).startswith(b"\x89PNG")
        for url in (p.page("/staff/S01/photo", "K1"), f"{p.url}/staff/S01/photo"):
            async with s.get(url) as r:
                assert r.status == 403
        async with s.get(p.page("/staff/S03/photo", "main")) as r:
            assert r.status == 404


async def test_a_page_that_cannot_keep_up_is_dropped_and_its_stream_ends(tmp_path: Path) -> None:
    from hallctl.journal import Record
    from hallctl.web import live

    async with running_pages(tmp_path) as p, aiohttp.ClientSession() as s:
        hub = p.web.hub
        async with s.get(p.page("/live/display/main", "main")) as resp:
            await resp.content.readuntil(b"\n\n")  # retry:
            await resp.content.readuntil(b"\n\n")  # the view
            [client] = list(hub._clients)
            for _ in range(live.QUEUE_MAX):  # as if the page had stopped reading
                client.queue.put_nowait(b": filler\n\n")
            # one more message (no await in between: the page's writer cannot drain meanwhile)
            hub.publish([Record(p.engine.last_seq() + 1, "x", "voice.announced", "2026-11-30T10:30"
                                ":00+08:00", "2026-11-30", None, 1, '{"zone":"main"}')])
            assert hub.stats.dropped == 1 and hub.clients == 0
            rest = await asyncio.wait_for(resp.content.read(), 5)  # the stream ends
            assert rest.count(b": filler") < live.QUEUE_MAX
