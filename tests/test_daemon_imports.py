"""The daemon's memory floor is mostly what it imports (docs/performance.md, "Memory.").

`hallctl run` on the example hall imports no code of a surface the hall file does not ask for,
none of the libraries structlog picks up when they happen to be installed, and the daily report
is made in a process of its own, so its libraries never enter the daemon.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hallctl.control_client import ControlError, control_request_sync

ROOT = Path(__file__).resolve().parents[1]

REPORT_CODE = ("numpy", "openpyxl", "matplotlib", "hallctl.supervision.report",
               "hallctl.supervision.output")  # fmt: skip
# what a hall without pages or log-in never needs, and structlog's optional extras
NOT_IN_THE_DAEMON = (
    "rich", "pygments", "greenlet",
    "aiohttp", "argon2", "itsdangerous", "segno", "hallctl.web.component", "hallctl.accounts.http",
    "serial", "serial_asyncio_fast", "hallctl.transports.serial", "hallctl.codec",  # no serial
    *REPORT_CODE,
)  # fmt: skip

REPORT = """
import asyncio, json, sys
from datetime import date
from pathlib import Path
from hallctl.config import parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.supervision.daily import DailyReports
from tests.hall.conftest import SMALL_HALL

async def main() -> None:
    d = Path(sys.argv[1])
    config = parse_config(SMALL_HALL + f"data_dir: {d}\\n"
                          "supervision: {reports: {formats: [csv, xlsx, html]}}\\n")
    engine = HallEngine(config, Journal(d / "journal.db"), secret=b"k" * 32)
    engine.recover()
    paths = await DailyReports(config, engine).write(date(2026, 11, 25), announce=False)
    print(json.dumps({"files": [p.name for p in paths], "modules": sorted(sys.modules)}))

asyncio.run(main())
"""


def loaded(names: list[str], unwanted: tuple[str, ...] = NOT_IN_THE_DAEMON) -> list[str]:
    return [n for n in names if n in unwanted or n.split(".")[0] in unwanted]


def test_hallctl_run_on_the_example_hall_imports_only_what_it_uses(tmp_path: Path) -> None:
    hall = tmp_path / "hall.yaml"
    hall.write_text(
        (ROOT / "config" / "example.yaml").read_text(encoding="utf-8").replace(
            "data_dir: ../var/example", f"data_dir: {tmp_path / 'data'}"
        ),
        encoding="utf-8",
    )
    probe = (  # the modules the daemon holds when it has stopped, printed on the way out
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(\n"
        "    sorted(k for k, v in sys.modules.items() if v is not None))))\n"
        "from hallctl.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLCTL_")}
    env["HALLCTL_MQTT_URL"] = "mqtt://127.0.0.1:9"  # no broker: the link keeps retrying
    daemon = subprocess.Popen(
        [sys.executable, "-c", probe, "run", "-c", str(hall)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert control_request_sync(tmp_path / "data" / "control.sock",
                                            {"action": "status"}, 5)["ok"]
                break
            except ControlError:
                assert daemon.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    modules = json.loads(out.splitlines()[-1])
    assert "hallctl.supervision.daily" in modules  # the report writer is there, idle
    assert "hallctl.mqtt.link" in modules
    assert loaded(modules) == []


def test_the_daily_report_is_made_outside_the_daemon(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", REPORT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["files"] == [f"test-hall-day-2026-11-25.{x}" for x in ("csv", "xlsx", "html")]
    assert (tmp_path / "reports" / answer["files"][1]).read_bytes()[:2] == b"PK"  # a real .xlsx
    assert loaded(answer["modules"], REPORT_CODE) == []


def test_the_unit_fixes_glibcs_mmap_threshold() -> None:
    # what docs/performance.md says the unit sets against a busy day's freed buffers
    unit = (ROOT / "systemd" / "hallctl.service").read_text(encoding="utf-8")
    assert "\nEnvironment=MALLOC_MMAP_THRESHOLD_=131072\n" in unit
