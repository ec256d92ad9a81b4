"""The one HTTP server inside the daemon.

Devices that push (face clocks) and, later, the hall's web pages mount routes on it. aiohttp
because it is asyncio-native and the same dependency gives the tests a real client.

The server owns bytes and connections only: it limits body sizes and how long a client may take
to send its headers (`header_timeout`, through aiohttp's keep-alive timer, which also runs
before the first request) and its body (`body_timeout`), so a slow client cannot hold
connections open; it serves HTTPS when given a certificate; it logs every request
(method, path, status, peer, duration; never bodies, which may carry faces or names) and turns
any exception in a handler into a 500 instead of a dropped connection or a dead task.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Face pictures in ISAPI multipart bodies are ~50-200 KiB; 4 MiB leaves room and still stops a
# runaway client from filling the hall PC's memory.
DEFAULT_MAX_BODY = 4 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_BODY_TIMEOUT_S = 30.0


def _body_deadline(timeout_s: float) -> Middleware:
    """Close the connection of a request whose body has not fully arrived in time."""

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)

        def cut() -> None:
            if not request.content.is_eof() and request.transport is not None:
                log.warning("http.body_timeout", path=request.path, peer=request.remote)
                request.transport.close()  # the handler's read fails; nothing is half-done

        timer = asyncio.get_running_loop().call_later(timeout_s, cut)
        try:
            return await handler(request)
        finally:
            timer.cancel()

    return deadline


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Access log plus a last line of defence: a handler bug answers 500, never crashes."""
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        # aiohttp's own answers (404, 405, 413 from the size limit, handlers' 4xx).
        status = exc.status
        raise
    except Exception:
        log.exception("http.handler_failed", method=request.method, path=request.path)
        return web.Response(status=500, text="internal error\n")
    finally:
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": status,
            "peer": request.remote,
            "ms": elapsed_ms,
        }
        if status >= 400:
            log.warning("http.access", **fields)
        else:
            log.debug("http.access", **fields)


class HttpServer:
    """An aiohttp server as an async context manager.

    Register routes before entering: aiohttp freezes the router when the server starts.

        server = HttpServer("0.0.0.0", 8080)
        server.add_route("GET", "/iclock/cdata", handler)
        async with server:
            print(server.port)      # the bound port, also when 0 asked for an ephemeral one
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT_S,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_S,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._header_timeout = header_timeout
        self._ssl = ssl_context
        self._app = web.Application(
            middlewares=[_guard, _body_deadline(body_timeout)], client_max_size=max_body
        )
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def app(self) -> web.Application:
        """The aiohttp application, for sub-apps or app-wide state (before start)."""
        return self._app

    @property
    def host(self) -> str:
        return self._host

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("HttpServer is not running")
        return self._port

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        if ":" in host:
            host = "[" + host + "]"
        scheme = "https://" if self._ssl is not None else "http://"
        return scheme + host + ":" + str(self.port)

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        if self._runner is not None:
            raise RuntimeError("routes must be added before the server starts")
        self._app.router.add_route(method, path, handler)

    def add_routes(self, routes: list[web.RouteDef]) -> None:
        if self._runner is not None:
            raise RuntimeError("routes must be added before the server starts")
        self._app.router.add_routes(routes)

    async def start(self) -> None:
        # access_log=None: the middleware logs through structlog instead of stdlib logging.
        # keepalive_timeout: aiohttp (3.14.5 and later, hence the pin) arms it when a connection
        # opens, and closes a connection still waiting for a complete request when it fires:
        # the header time-out (tested: half a header is cut off in time).
        runner = web.AppRunner(
            self._app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self._header_timeout,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port, ssl_context=self._ssl)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = _bound_port(runner, self._requested_port)
        log.info("http.listening", host=self._host, port=self._port, tls=self._ssl is not None)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("http.stopped", host=self._host, port=self._port)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        # IPv4 (host, port), IPv6 (host, port, flow, scope): the port is always second.
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested
