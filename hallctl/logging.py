"""One logging setup for hallctl and the libraries under it.

structlog renders every record, ours and the stdlib ones (aiomqtt, pymodbus, asyncio log through
``logging``), so the journal holds one format:

* JSON lines when the log stream is not a terminal (systemd journal, CI, pipes), one object per
  line with ``timestamp`` (ISO 8601, local time with offset), ``level``, ``logger``, ``event``
  and the event's fields;
* a readable, coloured console view when a person is watching a terminal.

Logs go to stderr, not stdout, so that CLI output (``hallctl status --json | jq``) stays clean;
under systemd both end up in the journal anyway.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["LEVELS", "configure_logging"]

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _local_iso_timestamp(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    # Local time with its offset, like event envelopes: operators read hall time, and the offset
    # keeps the line unambiguous for machines. structlog's own "iso" is either UTC or offset-less.
    event["timestamp"] = datetime.now().astimezone().isoformat(timespec="milliseconds")
    return event


def configure_logging(
    level: str = "info", json: bool | None = None, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to ``stream`` (default stderr) at ``level``.

    ``json``: True forces JSON lines, False the console view; None picks JSON unless the stream
    is a terminal. Safe to call again (tests, ``--log-level`` after reading the config).
    """
    try:
        numeric_level = LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}") from None
    out = sys.stderr if stream is None else stream
    is_tty = _isatty(out)
    use_json = (not is_tty) if json is None else json

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        _local_iso_timestamp,
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: list[Processor]
    if use_json:
        renderer = [
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            # ensure_ascii=False: 窗口 and 王芳 stay readable in the journal.
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=is_tty)]

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.set_name("hallctl")

    root = logging.getLogger()
    # Replace, not add: calling this twice must not print every line twice.
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: module-level loggers made before a reconfiguration must follow it.
        cache_logger_on_first_use=False,
    )


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
