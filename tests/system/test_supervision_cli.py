"""电子监察 from the command line against a running daemon: acknowledge, 回访, close, report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.halls import DaemonProcess, cli, write_hall


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("supervision")
    config = write_hall(tmp)
    daemon = DaemonProcess(config, tmp / "daemon.log")
    daemon.start()
    yield config
    assert daemon.stop() == 0




def test_a_bad_review_is_acknowledged_followed_up_closed_and_reported(hall: Path) -> None:
    for args in (("open", "1"), ("ticket", "BDC"), ("call", "1"), ("finish", "1")):
        assert cli(hall, *args).returncode == 0
    evaluated = cli(hall, "evaluate", "1", "不满意", "--reason", "态度差", "--json")
    case = json.loads(evaluated.stdout)["result"]["case"]  # the answer names the case opened
    status = json.loads(cli(hall, "status", "--json").stdout)["result"]
    bad = next(a for a in status["alarms"] if a["kind"] == "bad_review")
    acked = cli(hall, "alarm", "ack", bad["alarm"], "--by", "监察员", "--note", "已核实")
    assert acked.returncode == 0 and "监察员 已核实" in acked.stdout
    again = cli(hall, "alarm", "ack", bad["alarm"], "--by", "监察员")
    assert again.returncode == 1 and "already_acknowledged" in again.stdout
    assert case.endswith(bad["ticket"])
    refused = cli(hall, "case", "close", case, "--by", "科长", "--note", "整改")
    assert refused.returncode == 1 and "not_followed_up" in refused.stdout
    followed = cli(hall, "case", "follow-up", case, "--by", "科长", "--note", "电话回访")
    assert followed.returncode == 0
    closed = cli(hall, "case", "close", case, "--by", "科长", "--note", "已整改", "--json")
    assert json.loads(closed.stdout)["result"]["on_time"] is True
    # the report reads the journal while the daemon runs
    report = cli(hall, "report", "day")
    assert report.returncode == 0, report.stderr
    lines = [ln.split() for ln in report.stdout.splitlines()]
    assert ["差评数", "1"] in lines and ["已回访", "1"] in lines
    assert ["按时整改率", "100.00%"] in lines
