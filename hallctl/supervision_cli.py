"""电子监察 commands (docs/reports.md): ``hallctl report day|week|month`` from the journal, and
``hallctl alarm ack`` / ``hallctl case follow-up|close`` through the running daemon."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    _register_casework(sub)
    sp = sub.add_parser("report", help="日报/周报/月报: KPIs and alarms from the journal")
    sp.add_argument("period", choices=["day", "week", "month", "range"],
                    help="日报 / 周报 / 月报, or any range (--from, --to)")
    sp.add_argument("-c", "--config", default=None, help="hall file (as for `hallctl run`)")
    sp.add_argument("--date", type=date.fromisoformat, help="a day in the period (default: last)")
    sp.add_argument("--from", dest="first", type=date.fromisoformat, help="range: first day")
    sp.add_argument("--to", dest="until", type=date.fromisoformat, help="range: last day")
    who = sp.add_mutually_exclusive_group()
    who.add_argument("--window", type=int, help="only this window")
    who.add_argument("--staff", help="only this staff member (id)")
    who.add_argument("--service", help="only this service (code)")
    sp.add_argument("--format", default="text", choices=["text", "csv", "xlsx", "html", "pdf"],
                    help="text (default), csv, xlsx (a sheet per table), html or pdf (charts)")
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
    if args.period == "range" and (args.first is None or args.until is None or
                                   args.until < args.first):  # fmt: skip
        print("hallctl report range: give --from and --to (to on or after from)", file=sys.stderr)
        return 2
    with store:
        day = args.first if args.period == "range" else args.date
        if day is None:
            latest = store.latest_day()
            day = date.fromisoformat(latest) if latest else date.today()
        report = build(config, store, args.period, day, scope, until=args.until)
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


def _register_casework(sub: Any) -> None:
    def client(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("-c", "--config", default=None, help="hall file")
        sp.add_argument("--socket", type=Path, help="control socket (default: from the hall file)")
        sp.add_argument("--json", action="store_true", help="print the raw JSON response")
        sp.add_argument("--by", required=True, help="who (name or staff id), journaled")

    sp = sub.add_parser("alarm", help="acknowledge an active alarm (确认告警)")
    sp.add_argument("verb", choices=["ack"], help="ack: acknowledge (确认)")
    sp.add_argument("alarm", help="alarm key, as `hallctl status` shows it")
    sp.add_argument("--note", default=None, help="what was done about it")
    client(sp)
    sp.set_defaults(handler=_casework)
    sp = sub.add_parser("case", help="差评整改: follow a case up (回访) or close it")
    sp.add_argument("verb", choices=["follow-up", "close"], help="follow-up (回访) or close (整改)")
    sp.add_argument("case", help="case id, e.g. 2026-11-25-A012")
    sp.add_argument("--note", required=True, help="回访记录 / 整改结果")
    client(sp)
    sp.set_defaults(handler=_casework)


def _casework(args: argparse.Namespace) -> int:
    import json
    import uuid

    from hallctl.cli import _socket_for
    from hallctl.config import ConfigError
    from hallctl.control import ControlError, control_request_sync

    if args.command == "alarm":
        request: dict[str, Any] = {"action": "acknowledge_alarm", "alarm": args.alarm}
    else:
        action = "follow_up_case" if args.verb == "follow-up" else "close_case"
        request = {"action": action, "case": args.case}
    request.update(by=args.by, note=args.note, source="cli", request_id=f"cli:{uuid.uuid4()}")
    try:
        response = control_request_sync(_socket_for(args), request, timeout=15.0)
    except (ConfigError, ControlError) as e:
        print(f"hallctl: {e}", file=sys.stderr)
        return 2
    if args.json or not response.get("ok"):
        print(json.dumps(response, ensure_ascii=False, indent=2))
    else:
        result = response["result"]
        what = result.get("alarm") or result.get("case")
        note = result.get("note") or ""
        print(f"{request['action']}: {what} — {result.get('by')} {note}".rstrip())
    return 0 if response.get("ok") else 1
