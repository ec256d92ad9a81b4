"""`hallctl report`: every format from a journal, read back the way an office would read it."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from hallctl.cli import main
from hallctl.journal import Journal
from tests.hall.conftest import SMALL_HALL
from tests.supervision_support import Recorder
from tests.test_supervision_kpi import CONFIG, hand_day

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def hall_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hall")
    text = SMALL_HALL.replace(
        "{code: SB, name: 社保, prefix: B}",
        "{code: SB, name: 社保, prefix: B, kind: promised, promised_days: 5}",
    )
    text += f"supervision: {{norms: {{service_limit_min: 20}}}}\ndata_dir: {root / 'var'}\n"
    (root / "var").mkdir()
    with Journal(root / "var" / "journal.db") as journal:
        hand_day(Recorder(CONFIG, journal))
    path = root / "hall.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def report(hall_file: Path, *args: str, capsys: pytest.CaptureFixture[bytes]) -> bytes:
    code = main(["report", "day", "-c", str(hall_file), "--date", "2026-11-25", *args])
    assert code == 0
    return capsys.readouterr().out


def test_text_report_names_kpis_in_chinese(
    hall_file: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = report(hall_file, capsys=capsysbinary).decode()
    assert "电子监察日报 2026-11-25" in out
    assert any(line.split() == ["取号数", "7"] for line in out.splitlines())
    assert any(line.split() == ["满意率", "66.67%"] for line in out.splitlines())


def test_csv_sections_carry_the_same_figures(
    hall_file: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    raw = report(hall_file, "--format", "csv", capsys=capsysbinary)
    assert raw.startswith("\ufeff".encode())  # Excel reads UTF-8 only with a BOM
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    at = rows.index(["# 按业务"])
    header = rows[at + 1]
    bdc = next(r for r in rows[at + 2 :] if r and r[0] == "不动产登记")
    assert dict(zip(header, bdc, strict=True))["取号数"] == "5"


def test_xlsx_has_a_sheet_per_table_with_chinese_headers(hall_file: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "day.xlsx"
    assert main(["report", "day", "-c", str(hall_file), "--date", "2026-11-25",
                 "--format", "xlsx", "-o", str(out)]) == 0  # fmt: skip
    wb = load_workbook(out)
    assert wb.sheetnames[:5] == ["说明", "总览", "按业务", "按窗口", "按人员"]
    assert {"差评整改", "告警明细", "按时段"} <= set(wb.sheetnames)
    summary = wb["总览"]
    headers = [c.value for c in summary[1]]
    values = dict(zip(headers, [c.value for c in summary[2]], strict=True))
    assert values["取号数"] == 7 and values["办结数"] == 4
    assert values["参评率"] == pytest.approx(0.75)
    share_cell = summary.cell(2, headers.index("参评率") + 1)
    assert share_cell.number_format == "0.00%"
    formulas = {r[0].value: r[2].value for r in wb["说明"].iter_rows(min_row=6)}
    assert "÷" in formulas["satisfaction"]


def test_scoped_report_and_bad_input(
    hall_file: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = report(hall_file, "--window", "3", capsys=capsysbinary).decode()
    assert "（3号窗口）" in out and any(ln.split() == ["取号数", "2"] for ln in out.splitlines())
    assert main(["report", "day", "-c", str(hall_file), "--window", "99"]) == 2
    assert "no window 99" in capsysbinary.readouterr().err.decode()
    empty = hall_file.parent / "empty.yaml"
    empty.write_text(
        hall_file.read_text(encoding="utf-8").replace("/var", "/nothing"), encoding="utf-8"
    )
    assert main(["report", "day", "-c", str(empty)]) == 1
    assert "no journal" in capsysbinary.readouterr().err.decode()


def test_pdf_pages_render_with_pdftoppm(hall_file: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    pdf = tmp_path / "day.pdf"
    assert main(["report", "day", "-c", str(hall_file), "--date", "2026-11-25",
                 "--format", "pdf", "-o", str(pdf)]) == 0  # fmt: skip
    done = subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "Error" not in done.stderr and "Mismatch" not in done.stderr
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 6  # summary+hourly, waits, windows, alarms, then tables
    first = imread(str(pages[0]))
    ink = (first[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.01 < ink < 0.5  # text and bars, not a blank or black page


def test_html_report_in_chromium(hall_file: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    html = tmp_path / "day.html"
    assert main(["report", "day", "-c", str(hall_file), "--date", "2026-11-25",
                 "--format", "html", "-o", str(html)]) == 0  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri())
        assert page.locator("h1").inner_text().startswith("测试大厅 电子监察日报")
        charts = page.locator("section.chart svg")
        assert charts.count() == 4  # hourly, waits, windows, alarms (a day has no trend)
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 100
        card = page.locator(".card", has_text="满意率").locator("b").inner_text()
        assert card == "66.67%"
        # nothing overflows the page sideways; wide tables scroll inside their box
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        browser.close()
    assert all(u.startswith("file:") for u in requests)  # loads nothing from the network


def test_a_month_has_a_day_table_trend_and_alarm_counts(
    hall_file: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    from hallctl.config import load_config
    from hallctl.supervision.html_report import render_html
    from hallctl.supervision.output import open_store
    from hallctl.supervision.report import build

    code = main(["report", "month", "-c", str(hall_file), "--date", "2026-11-25"])
    out = capsysbinary.readouterr().out.decode()
    assert code == 0 and "电子监察月报 2026-11-01 至 2026-11-25" in out
    assert "【按日】" in out and "【告警明细】" not in out  # months count alarms by kind
    config = load_config(hall_file)
    with open_store(config) as store:
        report = build(config, store, "month", date(2026, 11, 25))
    days = report.table("by_day").rows
    assert [d["day"] for d in days][-1] == "2026-11-25" and days[-1]["issued"] == 7
    html = render_html(report)
    assert html.count("<svg") == 5  # hourly, waits, windows, trend, alarms per day


def test_any_day_range(hall_file: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    args = ["report", "range", "-c", str(hall_file), "--from", "2026-11-20", "--to", "2026-11-25"]
    assert main(args) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "电子监察报表 2026-11-20 至 2026-11-25" in out
    assert any(line.split() == ["取号数", "7"] for line in out.splitlines())
    assert main([*args[:4], "--from", "2026-11-25", "--to", "2026-11-20"]) == 2
    assert "--from and --to" in capsysbinary.readouterr().err.decode()


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_reports_work_when_the_unit_refuses_mbind(hall_file: Path, tmp_path: Path) -> None:
    """systemd/hallctl.service refuses @resources calls with EPERM; numpy's OpenBLAS asks for
    mbind (NUMA placement) and must carry on without it."""
    pdf = tmp_path / "day.pdf"
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=mbind", "-e", "inject=mbind:error=EPERM",
         sys.executable, "-m", "hallctl.cli", "report", "day", "-c", str(hall_file),
         "--date", "2026-11-25", "--format", "pdf", "-o", str(pdf)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(INJECTED)" in done.stderr  # it did ask, and was refused
    assert pdf.read_bytes().startswith(b"%PDF")
