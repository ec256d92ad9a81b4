"""The one HTTP server inside the daemon.

Devices that push (face clocks) and, later, the hall's web pages mount routes on it. aiohttp
because it is asyncio-native and the same dependency gives the tests a real client.

The server owns bytes and connections only: it limits body sizes, logs every request
(method, path, status, peer, duration; never bodies, which may carry faces or names) and turns
any exception in a handler into a 500 instead of a dropped connection or a dead task.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Face pictures in ISAPI multipart bodies are ~50-200 KiB; 4 MiB leaves room and still stops a
# runaway client from filling the hall PC's memory.
DEFAULT_MAX_BODY = 4 * 1024 * 1024


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

    def __init__(self, host: str, port: int, *, max_body: int = DEFAULT_MAX_BODY) -> None:
        self._host = host
        self._requested_port = port
        self._app = web.Application(middlewares=[_guard], client_max_size=max_body)
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
        return "http://" + host + ":" + str(self.port)

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
        runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = _bound_port(runner, self._requested_port)
        log.info("http.listening", host=self._host, port=self._port)

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
