"""HttpServer: the daemon's one HTTP server, exercised over real loopback connections."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from hallctl.transports.http import HttpServer


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text="hello " + request.query.get("name", "?"))


async def _echo_length(request: web.Request) -> web.Response:
    return web.Response(text=str(len(await request.read())))


async def _broken(request: web.Request) -> web.Response:
    raise RuntimeError("handler bug")


def _server(max_body: int = 1024) -> HttpServer:
    server = HttpServer("127.0.0.1", 0, max_body=max_body)
    server.add_route("GET", "/hello", _hello)
    server.add_route("POST", "/echo", _echo_length)
    server.add_route("GET", "/broken", _broken)
    return server


async def test_port_zero_binds_an_ephemeral_port_and_serves_on_it() -> None:
    async with _server() as server, aiohttp.ClientSession() as http:
        assert server.port > 0
        assert server.base_url == "http://127.0.0.1:" + str(server.port)
        async with http.get(server.base_url + "/hello?name=window5") as response:
            assert response.status == 200
            assert await response.text() == "hello window5"


async def test_port_is_unavailable_before_start_and_after_stop() -> None:
    server = _server()
    with pytest.raises(RuntimeError):
        _ = server.port
    async with server:
        port = server.port
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_routes_cannot_be_added_once_running() -> None:
    async with _server() as server:
        with pytest.raises(RuntimeError):
            server.add_route("GET", "/late", _hello)


async def test_a_body_over_the_limit_is_refused_and_the_server_goes_on() -> None:
    async with _server(max_body=1024) as server, aiohttp.ClientSession() as http:
        async with http.post(server.base_url + "/echo", data=b"x" * 1024) as response:
            assert await response.text() == "1024"
        async with http.post(server.base_url + "/echo", data=b"x" * 5000) as response:
            assert response.status == 413
        async with http.get(server.base_url + "/hello") as response:
            assert response.status == 200


async def test_a_failing_handler_answers_500_is_logged_and_the_server_goes_on() -> None:
    async with _server() as server, aiohttp.ClientSession() as http:
        with capture_logs() as logs:
            async with http.get(server.base_url + "/broken") as response:
                assert response.status == 500
                assert "handler bug" not in await response.text()  # no internals to clients
        assert any(entry["event"] == "http.handler_failed" for entry in logs)
        async with http.get(server.base_url + "/hello") as response:
            assert response.status == 200


async def test_every_request_is_access_logged_with_status_and_path() -> None:
    async with _server() as server, aiohttp.ClientSession() as http:
        with capture_logs() as logs:
            async with http.get(server.base_url + "/hello") as response:
                await response.read()
            async with http.get(server.base_url + "/nowhere") as response:
                assert response.status == 404
        access = [entry for entry in logs if entry["event"] == "http.access"]
        assert [(entry["path"], entry["status"]) for entry in access] == [
            ("/hello", 200),
            ("/nowhere", 404),
        ]
        assert access[1]["log_level"] == "warning"
        assert access[0]["peer"] == "127.0.0.1"


async def test_garbage_on_the_socket_gets_400_and_does_not_stop_the_server() -> None:
    async with _server() as server, aiohttp.ClientSession() as http:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x00\xff\x16 not http at all\r\n\r\n")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        assert status_line.split(b" ")[1] == b"400"
        writer.close()
        await writer.wait_closed()
        async with http.get(server.base_url + "/hello") as response:
            assert response.status == 200


async def test_two_servers_on_port_zero_get_different_ports() -> None:
    async with _server() as first, _server() as second:
        assert first.port != second.port
