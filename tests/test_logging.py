"""Logging as the journal and an operator see it: the output of a real process."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hallctl.logging import configure_logging

REPO = Path(__file__).resolve().parent.parent


def _run(body: str, *, stderr: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh interpreter, as the daemon would start: nothing configured yet."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=True,
    )


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_piped_output_is_one_json_object_per_line() -> None:
    result = _run("""
        import structlog
        from hallctl.logging import configure_logging
        configure_logging("info")
        structlog.get_logger("hallctl.engine").info("ticket.issued", ticket="A012", window="5号")
    """)
    [line] = _json_lines(result.stderr)
    assert line["event"] == "ticket.issued"
    assert line["level"] == "info"
    assert line["logger"] == "hallctl.engine"
    assert (line["ticket"], line["window"]) == ("A012", "5号")
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.tzinfo is not None, "timestamps carry their UTC offset"
    assert "5号" in result.stderr, "Chinese is written as is, not as \\u escapes"
    assert result.stdout == "", "logs never mix into stdout, which belongs to CLI output"


def test_stdlib_loggers_of_libraries_come_out_in_the_same_format() -> None:
    result = _run("""
        import logging
        from hallctl.logging import configure_logging
        configure_logging("info")
        logging.getLogger("aiomqtt").warning("connection lost: %s", "timeout")
    """)
    [line] = _json_lines(result.stderr)
    assert line["event"] == "connection lost: timeout"
    assert (line["level"], line["logger"]) == ("warning", "aiomqtt")
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None


def test_the_level_filters_both_structlog_and_stdlib() -> None:
    result = _run("""
        import logging, structlog
        from hallctl.logging import configure_logging
        configure_logging("warning")
        log = structlog.get_logger("hallctl")
        log.info("dropped.structlog")
        logging.getLogger("pymodbus").info("dropped.stdlib")
        log.warning("kept.structlog")
        logging.getLogger("pymodbus").error("kept.stdlib")
    """)
    assert [line["event"] for line in _json_lines(result.stderr)] == [
        "kept.structlog",
        "kept.stdlib",
    ]


def test_debug_level_lets_debug_through() -> None:
    result = _run("""
        import structlog
        from hallctl.logging import configure_logging
        configure_logging("DEBUG")
        structlog.get_logger().debug("frame.bytes", hex="02 41 03")
    """)
    [line] = _json_lines(result.stderr)
    assert (line["event"], line["level"]) == ("frame.bytes", "debug")


def test_exceptions_are_kept_inside_the_json_line() -> None:
    result = _run("""
        import structlog
        from hallctl.logging import configure_logging
        configure_logging()
        try:
            1 / 0
        except ZeroDivisionError:
            structlog.get_logger().exception("driver.crashed", device="printer-1")
    """)
    [line] = _json_lines(result.stderr)
    assert line["event"] == "driver.crashed"
    assert line["level"] == "error"
    assert "ZeroDivisionError" in line["exception"]


def test_a_logger_made_before_configuration_follows_it() -> None:
    # Modules create their logger at import time, before the CLI has read --log-level.
    result = _run("""
        import structlog
        log = structlog.get_logger("hallctl.early")
        log.info("before")
        from hallctl.logging import configure_logging
        configure_logging("info", json=True)
        configure_logging("info", json=True)
        log.info("after")
    """)
    lines = result.stderr.splitlines()
    assert json.loads(lines[-1])["event"] == "after"
    assert sum("after" in line for line in lines) == 1, "reconfiguring must not duplicate lines"


def test_forced_console_view_is_not_json() -> None:
    result = _run("""
        import structlog
        from hallctl.logging import configure_logging
        configure_logging(json=False)
        structlog.get_logger().info("broker.started", port=1883)
    """)
    [line] = result.stderr.splitlines()
    assert "broker.started" in line and "port=1883" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_a_terminal_gets_the_readable_view() -> None:
    controller, terminal = pty.openpty()
    try:
        _run(
            """
            import structlog
            from hallctl.logging import configure_logging
            configure_logging()
            structlog.get_logger().info("broker.started", port=1883)
            """,
            stderr=terminal,
        )
        os.close(terminal)
        terminal = -1
        output = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child is gone and everything was read
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    text = output.decode()
    assert "broker.started" in text and "1883" in text
    assert not text.lstrip().startswith("{")
    assert "\x1b[" in text, "a terminal gets colours"


def test_an_unknown_level_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown log level 'loud'.*debug, info"):
        configure_logging("loud")
