"""`hallctl check` for a person fixing a hall file: every problem in one pass, in file order,
entries named as the file names them, a suggestion for a mistyped key, and the second owner of
a port blamed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hallctl.config import ConfigError, parse_config

HALL = """\
version: 1
hall: {id: h, name: 大厅, timezone: Asia/Shanghai}
services:
  - {code: BDC, name: 不动产登记, prefix: A}
  - {code: SB, name: 社保, prefix: B, daily_cap: -3}
  - {code: GJJ, name: 公积金, prefix: A}
windows:
  - {number: 1, services: [BDC, GJJ], defualt_staff: S1}
  - {number: 2, services: [SB, XX]}
  - {number: 3, services: [BDC]}
staff:
  - {id: S1, name: 王芳, staff_no: "0101", role: A, windows: [3, 9]}
serial:
  lines:
    - {id: bus, port: /dev/ttyUSB0}
    - {id: led, port: /dev/ttyUSB0}
  devices: []
"""


def _report(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return str(info.value).splitlines()[1:]


def test_schema_and_cross_check_problems_come_in_one_pass_in_file_order() -> None:
    assert [ln.strip() for ln in _report(HALL)] == [
        "line 5: services[code=SB].daily_cap: Input should be greater than or equal to 1",
        "line 6: services[code=GJJ].prefix: duplicate ticket prefix 'A'",
        "line 8: windows[number=1].defualt_staff: unknown key (not part of the hall file "
        "schema); did you mean 'default_staff'?",
        "line 9: windows[number=2].services[#2]: unknown service 'XX'",
        "line 12: staff[id=S1].windows[#2]: unknown window 9",
        "line 16: serial.lines[id=led].port: port '/dev/ttyUSB0' is already opened by "
        "line 'bus'",
    ]


def test_an_entry_left_out_for_its_own_error_causes_no_second_report() -> None:
    # SB fails the schema; window 2 naming it is not "unknown service 'SB'", and window 1
    # (left out for its typo) does not make staff covering it "unknown window 1"
    text = "\n".join(_report(HALL.replace("windows: [3, 9]", "windows: [1, 9]")))
    assert "'SB'" not in text and "unknown window 1" not in text


def test_a_key_far_from_every_valid_one_gets_no_suggestion() -> None:
    text = (
        HALL.replace(", daily_cap: -3", "")
        .replace("prefix: A}\nwindows", "prefix: C}\nwindows")
        .replace(", defualt_staff: S1", ", colour: red")
        .replace("[SB, XX]", "[SB]")
        .replace("[3, 9]", "[3]")
        .replace("/dev/ttyUSB0}\n  devices", "/dev/ttyUSB1}\n  devices")
    )
    [line] = _report(text)
    assert line.strip() == (
        "line 8: windows[number=1].colour: unknown key (not part of the hall file schema)"
    )


def test_check_prints_the_report(tmp_path: Path) -> None:
    hall = tmp_path / "hall.yaml"
    hall.write_text(HALL, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "hallctl.cli", "check", "-c", str(hall)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "6 problem(s)" in result.stderr
    assert "did you mean 'default_staff'?" in result.stderr
