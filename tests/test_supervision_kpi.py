"""KPIs from the journal: a hand-computed day gives every KPI exactly; counts always add up."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from hallctl.config import parse_config
from hallctl.journal import Journal
from hallctl.supervision.report import Report, Scope, build
from hallctl.supervision.store import FactStore
from tests.hall.conftest import SMALL_HALL, TZ
from tests.supervision_support import Recorder

CONFIG = parse_config(
    SMALL_HALL.replace(
        "{code: SB, name: 社保, prefix: B}",
        "{code: SB, name: 社保, prefix: B, kind: promised, promised_days: 5}",
    )
    + "supervision: {norms: {service_limit_min: 20}}\n"
)
DAY = date(2026, 11, 25)


def t(hm: str) -> datetime:
    h, m = hm.split(":")[:2]
    s = int(hm.split(":")[2]) if hm.count(":") == 2 else 0
    return datetime(2026, 11, 25, int(h), int(m), s, tzinfo=TZ)


def hand_day(r: Recorder) -> None:
    """The day of docs/reports.md's worked example."""
    r.at(t("08:55"), "staff_check_in", staff="S1")
    r.at(t("09:00"), "open_window", window=1, staff="S1")
    r.at(t("09:00"), "open_window", window=3)
    r.at(t("09:00"), "take_ticket", service="BDC")  # A001
    r.at(t("09:02"), "take_ticket", service="BDC")  # A002
    r.at(t("09:05"), "take_ticket", service="SB")  # B001
    r.at(t("09:06"), "take_ticket", service="SB")  # B002
    r.at(t("09:30"), "take_ticket", service="ZH")  # H001
    assert r.at(t("09:10"), "call_next", window=1)["ticket"] == "A001"
    r.at(t("09:11"), "start_service", window=1)
    assert r.at(t("09:12"), "call_next", window=3)["ticket"] == "B001"
    r.at(t("09:14"), "no_show", window=3)
    assert r.at(t("09:15"), "call_next", window=3)["ticket"] == "B002"
    r.at(t("09:15"), "start_service", window=3)
    r.at(t("09:25"), "finish", window=1)
    r.at(t("09:25"), "evaluate", window=1, level=5)
    assert r.at(t("09:25"), "call_next", window=1)["ticket"] == "A002"
    r.at(t("09:31"), "finish", window=1)
    r.at(t("09:32:30"), "tick")  # A002's evaluation times out
    r.at(t("09:40"), "finish", window=3)
    r.at(t("09:40"), "evaluate", window=3, level=2, reason="办理太慢")
    assert r.at(t("09:40"), "call_next", window=3)["ticket"] == "H001"
    r.at(t("09:45"), "transfer", window=3, service="BDC")
    assert r.at(t("09:46"), "call_next", window=1)["ticket"] == "H001"
    r.at(t("09:50"), "finish", window=1)
    r.at(t("09:50"), "evaluate", window=1, level=4)
    r.at(t("10:00"), "take_ticket", service="BDC")  # A003
    r.at(t("10:05"), "pause_window", window=3)
    r.at(t("10:10"), "take_ticket", service="BDC")  # A004, never called
    assert r.at(t("10:11"), "call_next", window=1)["ticket"] == "A003"
    r.at(t("10:12"), "suspend", window=1)
    r.at(t("10:20"), "resume_window", window=3)
    r.at(t("10:30"), "close_window", window=1)
    r.at(t("10:30"), "close_window", window=3)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    with Journal(tmp_path / "journal.db") as journal:
        hand_day(Recorder(CONFIG, journal))
    with FactStore(tmp_path / "journal.db", CONFIG.hall.tz) as store:
        return build(CONFIG, store, "day", DAY, made=t("18:00"))


def approx(row: dict[str, Any], **want: Any) -> None:
    got = {k: row[k] for k in want}
    assert got == pytest.approx(want), got


def test_hand_computed_hall_kpis(report: Report) -> None:
    hall = report.table("summary").rows[0]
    approx(hall, issued=7, called=6, served=4, no_show=1, open=2, transferred=1, suspended=1)
    # waits (s): B001 420, B002 540, A001 600, H001 600, A003 660, A002 1380
    approx(hall, wait_mean=4200 / 6 / 60, wait_median=10.0, wait_p90=23.0)
    approx(hall, wait_within_target=5 / 6, wait_over_limit=0.0)
    # service times (s): H001 240, A002 360, A001 840, B002 1500 (over the 20-minute norm)
    approx(hall, service_mean=12.25, service_p90=25.0, service_over_limit=0.25)
    # 即办件 (SB is 承诺件) that reached a window and stayed: A001, A002, H001, A003 (suspended)
    approx(hall, on_spot_rate=0.75)
    approx(hall, evaluated=3, eval_rate=0.75, satisfaction=2 / 3, bad_reviews=1, timed_out=1)
    approx(hall, level_5=1, level_4=1, level_3=0, level_2=1, level_1=0, not_evaluated=0)
    approx(hall, cases=1, followed_up=0, follow_up_rate=0.0, overdue=0)


def test_hand_computed_groups(report: Report) -> None:
    svc = {r["service"]: r for r in report.table("by_service").rows}
    approx(svc["不动产登记"], issued=5, served=3, no_show=0, open=2, transferred=1)
    approx(svc["社保"], issued=2, served=1, no_show=1, open=0, wait_mean=8.0)
    win = {r["window"]: r for r in report.table("by_window").rows}
    approx(win["1号窗口"], called=4, served=3, suspended=1, open_h=1.5)
    approx(win["1号窗口"], busy_h=26 / 60, idle_h=64 / 60, paused_h=0.0, utilisation=26 / 90)
    approx(win["3号窗口"], called=2, served=1, no_show=1, busy_h=32 / 60, paused_h=0.25)
    approx(win["3号窗口"], idle_h=43 / 60, utilisation=32 / 75)
    staff = {r["staff"]: r for r in report.table("by_staff").rows}
    approx(staff["王芳"], served=3, days_present=1, late_days=0, absent_days=0)
    approx(staff["李强"], days_present=0, absent_days=0)  # B岗: never "absent"
    hours = {r["hour"]: r for r in report.table("by_hour").rows}
    approx(hours["09:00"], issued=5, served=4, open_windows=2.0)
    approx(hours["10:00"], issued=2, served=0, open_windows=1.0)
    case = report.table("cases").rows[0]
    assert (case["case"], case["window"], case["level"], case["due"]) == (
        "2026-11-25-B002", 3, 2, "2026-12-16"
    )


def test_scope_narrows_every_table(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.db") as journal:
        hand_day(Recorder(CONFIG, journal))
    with FactStore(tmp_path / "journal.db", CONFIG.hall.tz) as store:
        r = build(CONFIG, store, "day", DAY, Scope(window=3), made=t("18:00"))
    approx(r.table("summary").rows[0], issued=2, served=1, no_show=1, cases=1)
    assert [row["window"] for row in r.table("by_window").rows] == ["3号窗口"]
    assert "3号窗口" in r.title


def test_stored_facts_and_the_archive_give_the_same_report(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    with Journal(db) as journal:
        rec = Recorder(CONFIG, journal)
        hand_day(rec)
        rec.at(datetime(2026, 11, 26, 9, 0, tzinfo=TZ), "tick")  # next day: 11-25 is closed
    with FactStore(db, CONFIG.hall.tz) as store:
        first = build(CONFIG, store, "day", DAY, made=t("18:00"))
        again = build(CONFIG, store, "day", DAY, made=t("18:00"))
    assert again.table("summary").rows == first.table("summary").rows
    with Journal(db) as journal:
        journal.save_snapshot(journal.last_seq(), b"state")  # pruning stops at the snapshot
        assert journal.prune("2026-11-26", [], archive_dir=tmp_path / "archive") > 0
    with FactStore(db, CONFIG.hall.tz, tmp_path / "archive") as store:
        store._db.execute("DELETE FROM supervision_days")  # a cache: rebuilt from the archive
        archived = build(CONFIG, store, "day", DAY, made=t("18:00"))
    assert archived.table("summary").rows == first.table("summary").rows
    assert archived.table("by_window").rows == first.table("by_window").rows
