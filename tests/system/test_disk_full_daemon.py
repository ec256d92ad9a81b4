"""A full disk under the running daemon, as the operator sees it from the command line.

The data directory is on a 1 MiB tmpfs filled to the last byte (skipped where mounting is not
allowed): tickets are refused `disk_full`, `hallctl status` still answers and shows the alarm,
and once space is freed the next ticket is issued without a restart.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.system.halls import DaemonProcess, write_hall
from tests.system.test_cli import cli
from tests.test_disk_full import fill, small_disk

__all__ = ["small_disk"]  # the fixture, used by name


def test_the_daemon_rides_out_a_full_disk(small_disk: Path, tmp_path: Path) -> None:
    config = write_hall(small_disk)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        assert cli(config, "open", "1").returncode == 0
        assert cli(config, "ticket", "BDC").returncode == 0
        filler = fill(small_disk)
        for _ in range(60):
            refused = cli(config, "ticket", "BDC")
            if refused.returncode != 0:
                break
        assert "disk_full" in refused.stdout and "Disk full" in refused.stdout, refused.stdout
        status = cli(config, "status")
        assert status.returncode == 0 and "ALARM disk_full" in status.stdout

        filler.unlink()
        deadline = time.monotonic() + 15
        while (issued := cli(config, "ticket", "BDC")).returncode != 0:
            assert time.monotonic() < deadline, issued.stdout
            time.sleep(0.5)
        assert "ALARM disk_full" not in cli(config, "status").stdout
    finally:
        assert daemon.stop() == 0
