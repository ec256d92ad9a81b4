"""Report times on a real-size archive: 1 day, 1 month, 1 year of a 20,000-ticket/day hall.

    .venv/bin/python bench/bench_report.py                  # 100 days × 20,000 tickets
    .venv/bin/python bench/bench_report.py --days 10 --tickets 5000   # quicker

One busy day is simulated through the pure hall core, then written again for every day of the
archive with its dates moved, straight into the journal's database. Measured in one process:

- fold: a day's events → its stored facts (done once per closed day, e.g. by the daily writer);
- report (KPIs of every table) from stored facts for a day, a month and a year;
- the baseline: the same month with no stored facts (every day folded from its events at query
  time), printed as a ratio; rendering the month as text and XLSX, and the day as HTML and PDF.

The year is 365 days of stored facts: the archive's days are folded from events, the rest are
copies of a folded day's row (their events would be copies too).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report_data import bench_config, simulate_day, write_days  # noqa: E402

from hallctl.supervision.output import render  # noqa: E402
from hallctl.supervision.report import build  # noqa: E402
from hallctl.supervision.store import FactStore  # noqa: E402

FIRST = date(2026, 1, 1)


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--tickets", type=int, default=20_000)
    args = ap.parse_args()
    config = bench_config()
    tz = config.hall.tz
    rec, t_sim = timed(simulate_day, config, FIRST, args.tickets)
    issued = sum(1 for r in rec.records if r[1] == "ticket.issued")
    print(f"simulated day: {issued} tickets, {len(rec.records)} events in {t_sim:.1f} s")
    days = [FIRST + timedelta(days=i) for i in range(args.days)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "journal.db"
        n, t_write = timed(write_days, db, rec.records, days)
        mb = db.stat().st_size / 1e6
        print(f"archive: {args.days} days, {n} events, {mb:.0f} MB, written in {t_write:.0f} s")
        with FactStore(db, tz) as store:
            _, t_fold = timed(store.facts, FIRST.isoformat())
            print(f"fold one day's events into stored facts: {t_fold:.2f} s")
            t0 = time.perf_counter()
            for d in days[1:]:
                store.facts(d.isoformat())
            t_all = time.perf_counter() - t0
            print(f"fold the other {args.days - 1} days: {t_all:.0f} s "
                  f"({t_all / max(1, args.days - 1):.2f} s a day)")  # fmt: skip
            _copy_facts(db, FIRST, 365)
            last = FIRST + timedelta(days=364)
            month_day = FIRST + timedelta(days=min(29, args.days - 1))
            results = {}
            for label, period, day, span in (
                ("day", "day", FIRST, 1),
                ("month", "month", month_day, 31),
            ):
                r, t = timed(build, config, store, period, day)
                results[label] = (r, t, span)
            t0 = time.perf_counter()
            year_days = store.days(FIRST, last, alarms=False)
            from hallctl.supervision.report import Scope, compute

            year = compute(config, year_days, [], "month", FIRST, last, Scope(), datetime.now(tz))
            t_year = time.perf_counter() - t0
            tickets_year = year.table("summary").rows[0]["issued"]
            _, t_year_load = timed(store.days, FIRST, last, False)
        print()
        print("report (every table's KPIs) from stored facts:")
        for label, (r, t, _span) in results.items():
            print(f"  {label:<6} {t:7.2f} s   ({r.table('summary').rows[0]['issued']} tickets)")
        print(f"  year   {t_year:7.2f} s   ({tickets_year} tickets; reading 365 rows: "
              f"{t_year_load:.2f} s)")  # fmt: skip
        # the baseline: no stored facts, the month folded from events at query time
        with FactStore(db, tz) as store:
            store._db.execute("DELETE FROM supervision_days")
            _, t_cold = timed(build, config, store, "month", month_day)
        t_month = results["month"][1]
        print(f"baseline month without stored facts: {t_cold:.1f} s  "
              f"→ stored facts are ×{t_cold / t_month:.0f} faster")  # fmt: skip
        print()
        print("rendering:")
        month = results["month"][0]
        day = results["day"][0]
        for label, report, fmt in (("month", month, "text"), ("month", month, "xlsx"),
                                   ("day", day, "html"), ("day", day, "pdf")):  # fmt: skip
            data, t = timed(render, report, fmt)
            print(f"  {label:<6} {fmt:<5} {t:6.2f} s  {len(data) / 1e3:8.0f} kB")


def _copy_facts(db: Path, first: date, n: int) -> None:
    """Stored facts for every day of the year: the folded days, then copies of the first."""
    conn = sqlite3.connect(db, isolation_level=None)
    row = conn.execute(
        "SELECT version, last_seq, tickets, extra, cases, alarms FROM supervision_days "
        "WHERE day = ?",
        (first.isoformat(),),
    ).fetchone()
    have = {r[0] for r in conn.execute("SELECT day FROM supervision_days")}
    conn.execute("BEGIN")
    for i in range(n):
        d = (first + timedelta(days=i)).isoformat()
        if d not in have:
            conn.execute("INSERT INTO supervision_days VALUES (?, ?, ?, ?, ?, ?, ?)", (d, *row))
    conn.execute("COMMIT")
    conn.close()


if __name__ == "__main__":
    main()
