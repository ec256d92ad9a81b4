"""``hallctl report day|week|month``: the 电子监察 reports from the journal (docs/reports.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    sp = sub.add_parser("report", help="日报/周报/月报: KPIs and alarms from the journal")
    sp.add_argument("period", choices=["day", "week", "month"])
    sp.add_argument("-c", "--config", default=None, help="hall file (as for `hallctl run`)")
    sp.add_argument("--date", type=date.fromisoformat, help="a day in the period (default: last)")
    who = sp.add_mutually_exclusive_group()
    who.add_argument("--window", type=int, help="only this window")
    who.add_argument("--staff", help="only this staff member (id)")
    who.add_argument("--service", help="only this service (code)")
    sp.add_argument("--format", default="text", choices=["text", "csv", "xlsx", "html", "pdf"])
    sp.add_argument("-o", "--out", type=Path, help="file to write (default: stdout for text, "
                    "csv, html; a file named after the report for xlsx and pdf)")  # fmt: skip
    sp.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hallctl.cli import default_config
    from hallctl.config import ConfigError, load_config
    from hallctl.supervision.output import file_name, open_store, render, write_atomically
    from hallctl.supervision.report import Scope, build

    try:
        config = load_config(args.config or default_config())
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    scope = Scope(window=args.window, staff=args.staff, service=args.service)
    if args.window is not None and args.window not in {w.number for w in config.windows}:
        print(f"hallctl report: no window {args.window} in the hall file", file=sys.stderr)
        return 2
    if args.staff is not None and args.staff not in {p.id for p in config.staff}:
        print(f"hallctl report: no staff {args.staff!r} in the hall file", file=sys.stderr)
        return 2
    if args.service is not None and args.service not in {s.code for s in config.services}:
        print(f"hallctl report: no service {args.service!r} in the hall file", file=sys.stderr)
        return 2
    try:
        store = open_store(config)
    except FileNotFoundError as e:
        print(f"hallctl report: {e} (has the hall run yet?)", file=sys.stderr)
        return 1
    with store:
        day = args.date
        if day is None:
            latest = store.latest_day()
            day = date.fromisoformat(latest) if latest else date.today()
        report = build(config, store, args.period, day, scope)
    data = render(report, args.format)
    out: Path | None = args.out
    if out is None and args.format in ("xlsx", "pdf"):
        out = Path(file_name(report, args.format))
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomically(out, data)
        print(out)
    return 0
