"""The staff console (/staff, 软件呼叫器) and the supervisor page (/supervisor).

Both pages are a shell with no hall data in it; everything they show comes through their live
channel (`/live/console`), which needs a logged-in session, and everything they do goes through
`/api/act` (hallctl.accounts.http), which checks the role on the server.
"""

from __future__ import annotations

import html
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
        # other components' health (sinks), set by the composer once every component exists
        self.component_status: Callable[[], dict[str, Any]] = dict
        self.hub = LiveHub(
            engine,
            lambda: console_view(engine.hall, self.counts) | self._health(),
            start=lambda: self._restart_counts(engine),
            fold=lambda records: self.counts.fold(records),
            events=CONSOLE_EVENTS,
            event_data=_event,
            now=lambda: hall_now(engine.hall),
        )
        self.shell = Shell()

    def _health(self) -> dict[str, Any]:
        sinks = self.component_status().get("sinks") or []
        return {"sinks": [
            {k: s.get(k) for k in ("name", "type", "state", "lag_records", "lag_s", "last_error")}
            for s in sinks
        ]}

    def _restart_counts(self, engine: HallEngine) -> None:
        self.counts = DayCounts.from_state(engine.hall.state)

    def routes(self) -> list[web.RouteDef]:
        # the assets also when the hall has no public pages (`web:`); the same files either way
        return [
            *self.shell.routes(),
            web.get("/staff", self.staff_page),
            web.get("/supervisor", self.supervisor_page),
            web.get("/live/console", self.live),
            web.get("/reports/", self.reports_index),
            web.get("/reports/{name}", self.report_file),
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

    def _supervisor(self, request: web.Request) -> None:
        session = self._session_of(request)
        if session is None:
            raise web.HTTPFound("/supervisor")  # log in there, then come back
        person = next((p for p in self._config.staff if p.id == session.staff), None)
        if person is None or person.access == "staff":
            raise web.HTTPForbidden(text="reports are for supervisors\n")

    async def reports_index(self, request: web.Request) -> web.Response:
        """The reports the daemon wrote (<data_dir>/reports), newest first, for supervisors."""
        self._supervisor(request)
        folder = self._config.data_dir / "reports"
        files = sorted(
            (p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else [],
            key=lambda p: p.name, reverse=True,
        )
        rows = "".join(
            f'<li><a href="/reports/{html.escape(p.name)}">{html.escape(p.name)}</a> '
            f"<small>{p.stat().st_size // 1024} KB</small></li>"
            for p in files
        ) or "<li>还没有报表 · no reports yet (written after closing time)</li>"
        text = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>报表 Reports'
            f'</title><link rel="stylesheet" href="{self.shell.url("console.css")}"></head>'
            '<body class="page-supervisor"><main class="reports"><h1>电子监察报表 · Reports</h1>'
            f'<p><a href="/supervisor">← 大厅监管</a></p><ul>{rows}</ul></main></body></html>'
        )
        return web.Response(text=text, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def report_file(self, request: web.Request) -> web.FileResponse:
        self._supervisor(request)
        name = request.match_info["name"]
        folder = (self._config.data_dir / "reports").resolve()
        path = (folder / name).resolve()
        if path.parent != folder or not path.is_file():  # no way out of the reports folder
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-store"})

    async def live(self, request: web.Request) -> web.StreamResponse:
        if self._session_of(request) is None:
            raise web.HTTPUnauthorized(text="log in first\n")
        return await self.hub.serve(request)
