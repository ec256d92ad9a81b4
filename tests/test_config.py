"""The hall file: validation names the field and line; cross checks; env overrides; docs current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hallctl.config import ConfigError, load_config, parse_config
from hallctl.schemas import write_schemas

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
version: 1
hall: {id: h1, name: 测试大厅}
services:
  - {code: BDC, name: 不动产登记, prefix: A, hours: ["08:30-12:00", "13:30-17:00"]}
  - {code: SB, name: 社保, prefix: B}
windows:
  - {number: 1, services: [BDC]}
  - {number: 2, services: [SB, {service: BDC, level: 2}]}
staff:
  - {id: S1, name: 王芳, staff_no: "0101", windows: [1]}
"""


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return [(p.line, ".".join(map(str, p.path)), p.message) for p in info.value.problems]


def test_example_and_demo_halls_are_valid() -> None:
    cfg = load_config(ROOT / "config" / "example.yaml")
    assert len(cfg.services) >= 8 and len(cfg.windows) >= 12
    assert {s.role for s in cfg.staff} == {"A", "B"}
    assert {
        "不动产登记",
        "社保医保",
        "公积金",
        "企业开办",
        "税务",
        "户籍",
        "出入境",
        "综合受理",
    } <= {s.name for s in cfg.services}


def test_defaults_timezone_to_shanghai() -> None:
    assert parse_config(GOOD).hall.timezone == "Asia/Shanghai"


def test_unknown_key_names_its_path_and_line() -> None:
    text = GOOD.replace("{number: 1, services: [BDC]}", "{number: 1, services: [BDC], colour: red}")
    assert problems(text) == [
        (7, "windows.0.colour", "unknown key (not part of the hall file schema)")
    ]


def test_every_schema_problem_is_reported_at_once() -> None:
    text = GOOD.replace("prefix: A,", "prefix: a1,").replace("number: 2", "number: zero")
    found = problems(text)
    assert [(line, path) for line, path, _ in found] == [
        (4, "services.0.prefix"),
        (8, "windows.1.number"),
    ]


def test_cross_checks_name_the_field_and_line() -> None:
    text = GOOD.replace("prefix: B", "prefix: A").replace("[SB, {service", "[SB, XX, {service")
    found = problems(text)
    assert (5, "services.1.prefix", "duplicate ticket prefix 'A'") in found
    assert (8, "windows.1.services.1", "unknown service 'XX'") in found


def test_overlapping_issuing_hours_make_no_sense() -> None:
    text = GOOD.replace('["08:30-12:00", "13:30-17:00"]', '["08:30-12:00", "11:00-17:00"]')
    [(line, path, message)] = problems(text)
    assert (line, path) == (4, "services.0")
    assert "overlap" in message


def test_staff_covering_an_unknown_window() -> None:
    [(line, path, message)] = problems(GOOD.replace("windows: [1]}", "windows: [7]}"))
    assert (line, path, message) == (10, "staff.0.windows.0", "unknown window 7")


def test_yaml_syntax_error_names_the_line() -> None:
    [(line, _, message)] = problems(GOOD + "windows: [\n")
    assert line is not None and line >= 11 and message.startswith("YAML")


def test_version_is_required_and_checked() -> None:
    [(line, path, _)] = problems(GOOD.replace("version: 1", "version: 9"))
    assert (line, path) == (1, "version")


def test_environment_overrides_for_deployment(tmp_path: Path) -> None:
    cfg = parse_config(
        GOOD, env={"HALLCTL_MQTT_URL": "mqtt://broker:1883", "HALLCTL_DATA_DIR": str(tmp_path)}
    )
    assert cfg.data_dir == tmp_path
    assert cfg.mqtt is not None


def test_check_command_exit_codes(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(GOOD.replace("prefix: B", "prefix: A"), encoding="utf-8")
    run = [sys.executable, "-m", "hallctl.cli", "check", "-c"]
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    fail = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert fail.returncode == 1
    assert "line 5: services[code=SB].prefix: duplicate ticket prefix 'A'" in fail.stderr


def test_committed_schemas_and_reference_are_current() -> None:
    assert write_schemas(ROOT / "docs" / "schemas", check=True) == 0


def test_a_port_cannot_be_both_a_serial_and_a_modbus_line() -> None:
    text = GOOD + (
        "serial:\n  lines: [{id: bus, port: /dev/ttyUSB0}]\n"
        "modbus:\n  lines: [{id: mb, port: /dev/ttyUSB0}]\n"
    )
    found = problems(text)
    assert any(
        path == "modbus.lines.0.port" and "one owner per port" in msg for _, path, msg in found
    )
