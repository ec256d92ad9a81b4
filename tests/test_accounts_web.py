"""Staff log-in on the web (docs/security.md): argon2id hashes, signed expiring sessions, CSRF,
lock-out, roles checked on the server, and every act journaled with who did it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hallctl.accounts.sessions import Locked, SessionStore
from hallctl.config import parse_config
from tests.accounts_support import HALL, PASSWORDS, act, browser, login, web_hall


async def test_a_staff_member_logs_in_and_acts_as_themselves_via_the_web(tmp_path: Path) -> None:
    async with web_hall(tmp_path) as web, browser() as s:
        await web.engine.execute({"action": "take_ticket", "service": "BDC"})
        status, body = await login(s, web, "0101", PASSWORDS["S1"])
        assert status == 200 and body["result"]["windows"] == [1]
        cookie = next(c for c in s.cookie_jar if c.key == "hallctl_session")
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        csrf = body["result"]["csrf"]
        status, body = await act(s, web, csrf, action="open_window", window=1, staff="S1")
        assert status == 200 and body["ok"]
        status, body = await act(s, web, csrf, action="call_next", window=1, by="BOSS")
        assert status == 200 and body["result"]["ticket"] == "A001"
    called = web.events("ticket.called")
    assert [(e["by"], e["via"]) for e in called] == [("S1", "web")]  # not the page's "by"


async def test_a_state_change_without_the_csrf_token_or_from_another_origin_is_refused(
    tmp_path: Path,
) -> None:
    async with web_hall(tmp_path) as web, browser() as s:
        _, body = await login(s, web, "S1", PASSWORDS["S1"])
        status, body2 = await act(s, web, None, action="open_window", window=1)
        assert status == 403 and body2["error"]["code"] == "csrf"
        status, _ = await act(s, web, "0" * 64, action="open_window", window=1)
        assert status == 403
        async with s.post(web.base + "/api/act", json={"action": "open_window", "window": 1},
                          headers={"X-CSRF-Token": body["result"]["csrf"],
                                   "Origin": "http://evil.example"}) as r:
            assert r.status == 403
    assert web.events("window.opened") == []


async def test_staff_cannot_act_on_a_window_they_do_not_cover_but_a_supervisor_can(
    tmp_path: Path,
) -> None:
    async with web_hall(tmp_path) as web, browser() as staff, browser() as boss:
        _, body = await login(staff, web, "0102", PASSWORDS["S2"])
        csrf = body["result"]["csrf"]
        assert body["result"]["windows"] == [2]
        status, refused = await act(staff, web, csrf, action="open_window", window=3)
        assert status == 403 and refused["error"]["code"] == "forbidden"
        status, _ = await act(staff, web, csrf, action="open_window", window=2, staff="S1")
        assert status == 403  # nobody opens a window in someone else's name
        status, _ = await act(staff, web, csrf, action="evaluate", window=2, level=5)
        assert status == 403  # a rating is the citizen's, never the staff's
        status, _ = await act(staff, web, csrf, action="tick")
        assert status == 403
        _, body = await login(boss, web, "9001", PASSWORDS["BOSS"])
        status, ok = await act(boss, web, body["result"]["csrf"], action="open_window", window=3)
        assert status == 200 and ok["ok"]
    assert [e["window"] for e in web.events("window.opened")] == [3]


async def test_wrong_passwords_lock_the_account_even_against_the_right_one(
    tmp_path: Path,
) -> None:
    async with web_hall(tmp_path) as web, browser() as s:
        for _ in range(3):
            status, body = await login(s, web, "0101", "wrong-guess")
            assert status == 401 and body["error"]["code"] == "bad_login"
        status, body = await login(s, web, "0101", PASSWORDS["S1"])
        assert status == 423 and "locked" in body["error"]["message"]
        # an unknown staff number answers exactly like a wrong password
        status, body = await login(s, web, "7777", "whatever1")
        assert status == 401 and body["error"]["code"] == "bad_login"


async def test_logging_in_at_a_window_shows_the_person_and_logging_out_takes_them_off(
    tmp_path: Path,
) -> None:
    async with web_hall(tmp_path) as web, browser() as s:
        await web.engine.execute({"action": "open_window", "window": 2})
        _, body = await login(s, web, "0102", PASSWORDS["S2"], window=2)
        assert body["result"]["window"] == 2
        assert web.engine.hall.state.window(2).staff == "S2"
        async with s.post(web.base + "/api/logout",
                          headers={"X-CSRF-Token": body["result"]["csrf"]}) as r:
            assert r.status == 200
        assert web.engine.hall.state.window(2).staff is None
        async with s.get(web.base + "/api/me") as r:
            assert r.status == 401
    changes = [(e["staff"], e.get("by")) for e in web.events("window.staff_changed")]
    assert changes == [("S2", "S2"), (None, "S2")]


async def test_logout_everywhere_ends_every_session_of_that_person(tmp_path: Path) -> None:
    async with web_hall(tmp_path) as web, browser() as pc1, browser() as pc2:
        _, first = await login(pc1, web, "S1", PASSWORDS["S1"])
        _, second = await login(pc2, web, "S1", PASSWORDS["S1"])
        async with pc2.post(web.base + "/api/logout-everywhere",
                            headers={"X-CSRF-Token": second["result"]["csrf"]}) as r:
            assert r.status == 200 and (await r.json())["result"]["ended"] == 2
        status, _ = await act(pc1, web, first["result"]["csrf"], action="open_window", window=1)
        assert status == 401


async def test_an_idle_session_expires(tmp_path: Path) -> None:
    async with web_hall(tmp_path) as web, browser() as s:
        await login(s, web, "S1", PASSWORDS["S1"])
        clock = web.accounts.sessions._clock
        web.accounts.sessions._clock = lambda: clock() + 31 * 60  # idle time-out is 30 min
        async with s.get(web.base + "/api/me") as r:
            assert r.status == 401


def test_passwd_stores_only_an_argon2id_hash_readable_by_the_daemon_group(
    tmp_path: Path,
) -> None:
    hall = tmp_path / "hall.yaml"
    hall.write_text(HALL % {"dir": tmp_path / "data"}, encoding="utf-8")
    config = parse_config(HALL % {"dir": tmp_path / "data"})
    store = SessionStore(tmp_path / "data" / "sessions.db", b"k" * 32, config.accounts)
    for _ in range(3):
        store.failed("S1")
    with pytest.raises(Locked):
        store.check_not_locked("S1")
    cmd = [sys.executable, "-m", "hallctl.cli", "passwd", "-c", str(hall), "0101", "--stdin"]
    old = os.umask(0o022)
    try:
        done = subprocess.run(cmd, input="correct-horse\n", capture_output=True, text=True)
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "data" / "credentials.json"
    text = path.read_text(encoding="utf-8")
    assert "correct-horse" not in text and "$argon2id$" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    store.check_not_locked("S1")  # a new password lifted the lock-out
    store.close()
    short = subprocess.run(cmd, input="12345\n", capture_output=True, text=True)
    assert short.returncode == 1 and "at least 6" in short.stderr
    unknown = subprocess.run([*cmd[:-2], "S404", "--stdin"], input="whatever1\n",
                             capture_output=True, text=True)
    assert unknown.returncode == 1 and "S1 (0101 王芳)" in unknown.stderr


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("http_proxy", raising=False)


async def test_reports_are_served_to_supervisors_only_and_only_from_the_reports_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "2026-11-30-day.csv").write_text("窗口,办结\n1,3\n", encoding="utf-8")
    (tmp_path / "secret-outside.txt").write_text("no", encoding="utf-8")
    async with web_hall(tmp_path) as web, browser() as boss, browser() as staff:
        async with boss.get(web.base + "/reports/", allow_redirects=False) as r:
            assert r.status == 302  # log in first
        await login(boss, web, "9001", PASSWORDS["BOSS"])
        async with boss.get(web.base + "/reports/") as r:
            assert r.status == 200 and "2026-11-30-day.csv" in await r.text()
        async with boss.get(web.base + "/reports/2026-11-30-day.csv") as r:
            assert r.status == 200 and "办结" in await r.text()
        async with boss.get(web.base + "/reports/..%2Fsecret-outside.txt") as r:
            assert r.status == 404
        await login(staff, web, "0101", PASSWORDS["S1"])
        async with staff.get(web.base + "/reports/2026-11-30-day.csv") as r:
            assert r.status == 403


async def test_the_supervisors_live_view_carries_the_back_ends_health(tmp_path: Path) -> None:
    (tmp_path / "hook-secret").write_text("s3cret\n")
    hook = ("sinks:\n  - {name: city, type: webhook, url: 'http://127.0.0.1:1/x', "
            f"secret_file: {tmp_path / 'hook-secret'}}}\n")
    async with web_hall(tmp_path, hook) as web, browser() as boss:
        await login(boss, web, "9001", PASSWORDS["BOSS"])
        await web.engine.execute({"action": "take_ticket", "service": "BDC"})
        async with boss.get(web.base + "/live/console") as r:
            assert r.status == 200
            async for raw in r.content:
                if raw.startswith(b"data: "):
                    view = json.loads(raw[6:])["view"]
                    break
    (sink,) = view["sinks"]
    assert sink["name"] == "city" and sink["type"] == "webhook"
    # what `hallctl status` shows, on the page (the state moves with the sink's retries)
    assert sink["state"] in ("starting", "ok", "retrying") and isinstance(sink["lag_records"], int)
