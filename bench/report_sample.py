"""The sample report in docs/reports/: a simulated busy day (20,000 tickets, 100 windows),
its PDF pages through pdftoppm and its HTML page in Chromium, as PNG.

    .venv/bin/python bench/report_sample.py          # about a minute
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date, datetime, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report_data import TZ, bench_config, simulate_day, write_days  # noqa: E402

from hallctl.supervision.output import render  # noqa: E402
from hallctl.supervision.report import build  # noqa: E402
from hallctl.supervision.store import FactStore  # noqa: E402

DAY = date(2026, 11, 25)
OUT = ROOT / "docs" / "reports"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main() -> None:
    config = bench_config()
    rec = simulate_day(config, DAY, 20_000)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "journal.db"
        write_days(db, rec.records, [DAY])
        with FactStore(db, config.hall.tz) as store:
            report = build(config, store, "day", DAY, made=datetime.combine(DAY, time(17, 30), TZ))
        pdf = Path(tmp) / "day.pdf"
        pdf.write_bytes(render(report, "pdf"))
        html = Path(tmp) / "day.html"
        html.write_bytes(render(report, "html"))
        for old in OUT.glob("sample-day-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-r", "80", "-f", "1", "-l", "5", "-png", str(pdf),
                        str(OUT / "sample-day")], check=True)  # fmt: skip
        for page in OUT.glob("sample-day-*.png"):  # pdftoppm pads page numbers: -1 or -01
            page.rename(OUT / f"sample-day-{int(page.stem.rsplit('-', 1)[1])}.png")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(html.as_uri())
            page.screenshot(path=str(OUT / "sample-day-html.png"))
            browser.close()
    print("\n".join(sorted(str(p.relative_to(ROOT)) for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
