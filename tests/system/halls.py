"""Hall files and helpers for tests that run the real daemon as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from hallctl.control import ControlError, control_request_sync

# issuing hours: always, so tests do not depend on the time of day
OPEN_ALL_DAY_HALL = """
version: 1
hall: {{id: sys-hall, name: 系统测试大厅, timezone: Asia/Shanghai}}
services:
  - {{code: BDC, name: 不动产登记, prefix: A, digits: 4}}
  - {{code: SB, name: 社保, prefix: B, digits: 4}}
windows:
  - {{number: 1, services: [BDC]}}
  - {{number: 2, services: [BDC, SB]}}
  - {{number: 3, services: [SB]}}
data_dir: {data_dir}
{extra}
"""


def write_hall(tmp: Path, extra: str = "") -> Path:
    path = tmp / "hall.yaml"
    path.write_text(OPEN_ALL_DAY_HALL.format(data_dir=tmp / "data", extra=extra), encoding="utf-8")
    return path


class DaemonProcess:
    """`hallctl run` in a child process, as systemd would start it."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket = config.parent / "data" / "control.sock"

    def start(self, timeout: float = 15.0) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hallctl.cli", "run", "-c", str(self.config), "--json-logs"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"daemon exited {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                if control_request_sync(self.socket, {"action": "status"}, timeout=2)["ok"]:
                    return
            except ControlError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"daemon not ready: {self.log.read_text()[-2000:]}")

    def request(self, req: dict, timeout: float = 10.0) -> dict:
        return control_request_sync(self.socket, req, timeout=timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(timeout=20)


def cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`hallctl ARGS -c CONFIG` as an operator types it, against the running daemon."""
    return subprocess.run(
        [sys.executable, "-m", "hallctl.cli", *args, "-c", str(config)],
        capture_output=True, text=True, timeout=timeout,
    )
