"""The CLI's client commands import only what a socket round trip and rendering need.

Their wall time is mostly Python start-up and imports (docs/performance.md): loading the hall
file with pydantic, structlog and rich cost `hallctl status` 300 ms for a sub-millisecond
round trip. The socket is found from the hall file without loading it (socket_locator).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hallctl.config import load_config
from hallctl.daemon import socket_path
from hallctl.socket_locator import socket_from_hall_file

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ["pydantic", "structlog", "rich", "ruamel", "asyncio", "hallctl.config", "aiomqtt"]

PROBE = """
import json, sys
from hallctl.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize(
    "command",
    [["status"], ["ticket", "BDC"], ["call", "3"], ["evaluate", "3", "5"], ["notice", "x"],
     ["eta", "A001"]],
)
def test_a_client_command_imports_no_heavy_module(command: list[str], tmp_path: Path) -> None:
    hall = tmp_path / "hall.yaml"
    hall.write_text(
        (ROOT / "config" / "example.yaml").read_text(encoding="utf-8").replace(
            "data_dir: ../var/example", f"data_dir: {tmp_path / 'data'}"
        ),
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *command, "-c", str(hall)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["code"] == 2  # no daemon: "hallctl is not running"
    assert "is not running" in out.stderr
    assert str(tmp_path / "data" / "control.sock") in out.stderr  # found from the hall file
    loaded = [m for m in result["modules"] if m.split(".")[0] in HEAVY or m in HEAVY
              or any(m.startswith(h + ".") for h in HEAVY)]
    assert loaded == []


def test_the_full_help_still_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hallctl.cli", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
    )
    for command in ("status", "ticket", "run", "voice", "collect"):
        assert f"    {command}" in out.stdout


EXAMPLE = (ROOT / "config" / "example.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t,
        lambda t: t.replace("data_dir: ../var/example", "data_dir: '../var/quoted'"),
        lambda t: t.replace("data_dir: ../var/example", 'data_dir: "/srv/hall" # absolute'),
        lambda t: t.replace("data_dir: ../var/example", ""),  # the default: var
        lambda t: t + "control:\n  mode: 0o660\n  socket: /run/hallctl/c.sock\n",
        lambda t: t + "control:\n  # the default socket\n  mode: 0o600\n",
    ],
)
def test_the_socket_found_without_loading_is_the_loaders(edit: object, tmp_path: Path) -> None:
    hall = tmp_path / "hall.yaml"
    hall.write_text(edit(EXAMPLE), encoding="utf-8")  # type: ignore[operator]
    expected = socket_path(load_config(hall, env={}))
    assert socket_from_hall_file(hall, env={}) == expected


@pytest.mark.parametrize(
    "tail",
    [
        "control: {socket: /run/x.sock}\n",  # flow style
        "control:\n  socket: *anchor\n",  # an alias
        "control:\n  socket: \"/run/a\\\\b.sock\"\n",  # escapes
        "---\nversion: 1\n",  # a second document
    ],
)
def test_what_it_is_not_sure_of_is_left_to_the_loader(tail: str, tmp_path: Path) -> None:
    hall = tmp_path / "hall.yaml"
    hall.write_text(EXAMPLE + tail, encoding="utf-8")
    assert socket_from_hall_file(hall, env={}) is None


def test_the_data_dir_from_the_environment_wins(tmp_path: Path) -> None:
    hall = tmp_path / "hall.yaml"
    hall.write_text(EXAMPLE, encoding="utf-8")
    env = {"HALLCTL_DATA_DIR": str(tmp_path / "elsewhere")}
    assert socket_from_hall_file(hall, env=env) == socket_path(load_config(hall, env=env))
