"""The log-in API pages use: `/api/login`, `/api/logout`, `/api/me`, `/api/act`.

Every state-changing call needs the session cookie and the session's CSRF token in
`X-CSRF-Token`, and an `Origin` (when the browser sends one) that is this server: a page from
elsewhere can neither read the token nor pass the origin check. Every act goes through
`authorize` (hallctl.accounts.access) and then the engine's one door with `by` = the staff id and
`via` = `web`, so it has the same vocabulary, idempotency and journal record as MQTT and the CLI.

Logging in at a window is an attendance signal (挂牌上岗): the window's staff becomes the person
logged in. Logging out, or a session that expires, takes them off the window again, so the
unattended-window alarm of the duty rules fires while citizens wait.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from hallctl.accounts.access import authorize, role_of, windows_of
from hallctl.accounts.config import AccountsConfig
from hallctl.accounts.credentials import Credentials
from hallctl.accounts.passwords import Busy, verify_async
from hallctl.accounts.sessions import COOKIE, AddressLimiter, Locked, Session, SessionStore
from hallctl.components import Needs
from hallctl.config.models import HallConfig, StaffConfig
from hallctl.engine import HallEngine
from hallctl.hall.errors import HallError

log = structlog.get_logger(__name__)

EXPIRY_CHECK_S = 30.0
MAX_JSON = 16 * 1024


def _refusal(kind: type[web.HTTPClientError], code: str, message: str) -> web.HTTPClientError:
    body = json.dumps({"ok": False, "error": {"code": code, "message": message}})
    return kind(text=body, content_type="application/json")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}},
                             status=status)


class Accounts:
    """Staff log-in for the web pages, as a component of the daemon."""

    name = "accounts"

    def __init__(
        self,
        config: HallConfig,
        engine: HallEngine,
        sessions: SessionStore,
        credentials: Credentials,
    ) -> None:
        self.config = config
        self.engine = engine
        self.sessions = sessions
        self.credentials = credentials
        section: AccountsConfig = config.accounts
        self.limiter = AddressLimiter(section.login_per_min_per_address)
        self._by_no = {s.staff_no: s for s in config.staff} | {s.id: s for s in config.staff}
        self._staff = {s.id: s for s in config.staff}
        # where each logged-in person stands, to take them off the window at logout/expiry
        self._at_window: dict[str, int] = {}
        from hallctl.web.console import Console

        self.console = Console(config, engine, self.session_of)

    def see_status(self, status: Callable[[], dict[str, Any]]) -> None:
        """Other components' health for the supervisor page (called once by the composer)."""
        self.console.component_status = status

    def needs(self) -> Needs:
        return Needs(routes=[
            web.post("/api/login", self.login),
            web.post("/api/logout", self.logout),
            web.post("/api/logout-everywhere", self.logout_everywhere),
            web.get("/api/me", self.me),
            web.post("/api/act", self.act),
            web.post("/api/window", self.choose_window),
            *self.console.routes(),
        ])

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.console.hub.run())
            tg.create_task(self._expire())

    async def _expire(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            for staff in self.sessions.expired():
                if staff not in self.sessions.live_staff():
                    await self._leave_window(staff, reason="expired")

    # -- helpers -----------------------------------------------------------------------------

    def session_of(self, request: web.Request) -> Session | None:
        return self.sessions.check(request.cookies.get(COOKIE))

    def _logged_in(self, request: web.Request) -> Session:
        session = self.session_of(request)
        if session is None:
            raise _refusal(web.HTTPUnauthorized, "no_session", "log in first")
        return session

    def _changing(self, request: web.Request) -> Session:
        """The session of a state-changing request: logged in, right CSRF token and origin."""
        session = self._logged_in(request)
        if not self._state_change_ok(request, session):
            raise _refusal(web.HTTPForbidden, "csrf", "missing or wrong CSRF token")
        return session

    def _state_change_ok(self, request: web.Request, session: Session) -> bool:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return False
        return self.sessions.csrf_ok(session, request.headers.get("X-CSRF-Token"))

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_JSON:
            raise HallError("bad_request", "request too large")
        try:
            body = json.loads(await request.text())
        except (ValueError, RecursionError):
            raise HallError("bad_request", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise HallError("bad_request", "the body is a JSON object")
        return body

    def _whoami(self, session: Session) -> dict[str, Any]:
        staff = self._staff[session.staff]
        return {
            "staff": staff.id,
            "name": staff.name,
            "staff_no": staff.staff_no,
            "role": role_of(staff),
            "windows": windows_of(self.config, staff),
            "window": self._at_window.get(staff.id),
            "csrf": self.sessions.csrf_token(session),
        }

    async def _execute(self, staff: StaffConfig, request: dict[str, Any]) -> dict[str, Any]:
        return await self.engine.execute({**request, "by": staff.id, "via": "web", "source": "web"})

    async def _leave_window(self, staff: str, reason: str) -> None:
        window = self._at_window.pop(staff, None)
        if window is None:
            return
        w = self.engine.hall.state.windows.get(window)
        if w is not None and w.staff == staff:
            r = await self.engine.execute({"action": "assign_staff", "window": window,
                                           "staff": None, "by": staff, "via": "web"})
            log.info("accounts.left_window", staff=staff, window=window, reason=reason, ok=r["ok"])

    # -- routes ------------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        address = request.remote or "?"
        if not self.limiter.allow(address):
            return _error(429, "rate_limited", "too many log-in attempts; wait a minute")
        try:
            body = await self._body(request)
        except HallError as e:
            return _error(400, e.code, e.message)
        who, password, window = body.get("staff"), body.get("password"), body.get("window")
        if not isinstance(who, str) or not isinstance(password, str) or len(password) > 256:
            return _error(400, "bad_request", "staff and password are strings")
        if window is not None and (not isinstance(window, int) or isinstance(window, bool)):
            return _error(400, "bad_request", "window is a window number")
        staff = self._by_no.get(who)
        if staff is not None:
            try:
                self.sessions.check_not_locked(staff.id)
            except Locked as e:
                until = datetime.fromtimestamp(e.until).astimezone().strftime("%H:%M")
                return _error(423, "locked", f"account locked after wrong passwords until {until}")
        stored = self.credentials.hash_for(staff.id) if staff is not None else None
        try:
            matches = await verify_async(stored, password)
        except Busy:
            return _error(503, "busy", "too many log-ins at once; try again in a few seconds")
        if not matches or staff is None:
            locked = self.sessions.failed(staff.id) if staff is not None else None
            log.warning("accounts.login_failed", staff=who, address=address, locked=bool(locked))
            return _error(401, "bad_login", "wrong staff number or password")
        self.sessions.succeeded(staff.id)
        if window is not None:
            try:
                authorize(self.config, staff, {"action": "open_window", "window": window})
            except HallError as e:
                return _error(403, e.code, e.message)
        cookie = self.sessions.create(staff.id, address)
        session = self.sessions.check(cookie)
        assert session is not None
        if window is not None:
            await self._take_window(staff, window)
        log.info("accounts.logged_in", staff=staff.id, address=address, window=window)
        response = web.json_response({"ok": True, "result": self._whoami(session)})
        response.set_cookie(
            COOKIE, cookie, httponly=True, samesite="Strict", secure=request.secure, path="/",
            max_age=int(self.config.accounts.session_max_h * 3600),
        )
        return response

    async def _take_window(self, staff: StaffConfig, window: int) -> None:
        """挂牌上岗: the window shows who is logged in at it."""
        w = self.engine.hall.state.windows.get(window)
        if w is not None and w.status != "closed" and w.staff != staff.id:
            await self._execute(staff, {"action": "assign_staff", "window": window,
                                        "staff": staff.id})
        self._at_window[staff.id] = window

    async def me(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": self._whoami(self._logged_in(request))})

    async def logout(self, request: web.Request) -> web.Response:
        session = self._changing(request)
        self.sessions.end(session)
        if session.staff not in self.sessions.live_staff():
            await self._leave_window(session.staff, reason="logout")
        response = web.json_response({"ok": True, "result": {}})
        response.del_cookie(COOKIE, path="/")
        return response

    async def logout_everywhere(self, request: web.Request) -> web.Response:
        session = self._changing(request)
        ended = self.sessions.end_all(session.staff)
        await self._leave_window(session.staff, reason="logout_everywhere")
        response = web.json_response({"ok": True, "result": {"ended": ended}})
        response.del_cookie(COOKIE, path="/")
        return response

    async def choose_window(self, request: web.Request) -> web.Response:
        """The window this person serves from now on (挂牌上岗 when it is open)."""
        session = self._changing(request)
        staff = self._staff[session.staff]
        try:
            window = (await self._body(request)).get("window")
            if not isinstance(window, int) or isinstance(window, bool):
                raise HallError("bad_request", "window is a window number")
            authorize(self.config, staff, {"action": "open_window", "window": window})
        except HallError as e:
            return _error(403 if e.code == "forbidden" else 400, e.code, e.message)
        previous = self._at_window.get(staff.id)
        if previous is not None and previous != window:
            await self._leave_window(staff.id, reason="moved")
        await self._take_window(staff, window)
        return web.json_response({"ok": True, "result": self._whoami(session)})

    async def act(self, request: web.Request) -> web.Response:
        session = self._changing(request)
        try:
            body = await self._body(request)
            staff = self._staff[session.staff]
            for key in ("by", "via", "source"):
                body.pop(key, None)  # who acted is the session's, never the page's say
            authorize(self.config, staff, body)
        except HallError as e:
            status = 403 if e.code == "forbidden" else 400
            return _error(status, e.code, e.message)
        answer = await self._execute(staff, body)
        if answer["ok"] and body.get("action") == "open_window":
            self._at_window[staff.id] = int(body["window"])
        return web.json_response(answer, status=200 if answer["ok"] else 409)


def build(config: HallConfig, engine: HallEngine) -> Accounts | None:
    """Log-in exists once the hall file has staff and the web front is configured."""
    if config.http is None or not config.staff:
        return None
    from hallctl.privacy import load_or_create_secret

    data_dir = config.data_dir
    secret = load_or_create_secret(config.privacy.secret_file or data_dir / "secret")
    sessions = SessionStore(data_dir / "sessions.db", secret, config.accounts)
    credentials = Credentials(config.accounts.credentials_file or data_dir / "credentials.json")
    return Accounts(config, engine, sessions, credentials)
