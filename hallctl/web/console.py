"""The staff console (/staff, 软件呼叫器) and the supervisor page (/supervisor).

Both pages are a shell with no hall data in it; everything they show comes through their live
channel (`/live/console`), which needs a logged-in session, and everything they do goes through
`/api/act` (hallctl.accounts.http), which checks the role on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hallctl.web.console_view import console_view
from hallctl.web.day_counts import DayCounts
from hallctl.web.live import LiveHub
from hallctl.web.shell import Shell
from hallctl.web.views import hall_now

if TYPE_CHECKING:
    from hallctl.accounts.sessions import Session
    from hallctl.config.models import HallConfig
    from hallctl.engine import HallEngine

# Record types the console also gets as they happen: the evaluation after service, calls.
CONSOLE_EVENTS = ("evaluation.recorded", "ticket.called", "alarm.raised")
_FIELDS = ("ticket", "window", "level", "label_zh", "evaluated", "reason", "service", "kind",
           "message", "by", "out_of_order")


def _event(record: Any) -> dict[str, Any]:
    import json

    data = json.loads(record.data)
    return {k: data[k] for k in _FIELDS if k in data}


class Console:
    def __init__(
        self,
        config: HallConfig,
        engine: HallEngine,
        session_of: Callable[[web.Request], Session | None],
    ) -> None:
        self._config = config
        self._session_of = session_of
        self.counts = DayCounts()
        self.hub = LiveHub(
            engine,
            lambda: console_view(engine.hall, self.counts),  # engine.hall: read at each call
            start=lambda: self._restart_counts(engine),
            fold=lambda records: self.counts.fold(records),
            events=CONSOLE_EVENTS,
            event_data=_event,
            now=lambda: hall_now(engine.hall),
        )
        self.shell = Shell()

    def _restart_counts(self, engine: HallEngine) -> None:
        self.counts = DayCounts.from_state(engine.hall.state)

    def routes(self) -> list[web.RouteDef]:
        # the assets also when the hall has no public pages (`web:`); the same files either way
        return [
            *self.shell.routes(),
            web.get("/staff", self.staff_page),
            web.get("/supervisor", self.supervisor_page),
            web.get("/live/console", self.live),
        ]

    def _page(self, page: str, title: str) -> web.Response:
        cfg = {"page": page, "live": "/live/console", "hall": self._config.hall.name,
               "tz": self._config.hall.timezone}
        return self.shell.page(title=title, page=page, config=cfg, scripts=[f"{page}.js"],
                               styles=["base.css", "console.css"])

    async def staff_page(self, request: web.Request) -> web.Response:
        return self._page("staff", "窗口呼叫 · " + self._config.hall.name)

    async def supervisor_page(self, request: web.Request) -> web.Response:
        return self._page("supervisor", "大厅监管 · " + self._config.hall.name)

    async def live(self, request: web.Request) -> web.StreamResponse:
        if self._session_of(request) is None:
            raise web.HTTPUnauthorized(text="log in first\n")
        return await self.hub.serve(request)
