"""The ``hallctl`` command: run the daemon, check a hall file, and operate a running hall."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hallctl import __version__

DEFAULT_CONFIGS = ("/etc/hallctl/hall.yaml", "config/example.yaml")
# subcommands in their own modules: each has register(sub, with_config), which sets run_extension
EXTENSIONS = ("hallctl.cli_simulate", "hallctl.cli_plan")

WINDOW_VERBS = {
    "call": "call_next",
    "recall": "recall",
    "noshow": "no_show",
    "start": "start_service",
    "finish": "finish",
    "pause": "pause_window",
    "resume": "resume_window",
    "open": "open_window",
    "close": "close_window",
    "suspend": "suspend",
    "callback": "call_back",
    "ask-evaluation": "request_evaluation",
}


def default_config() -> str:
    env = os.environ.get("HALLCTL_CONFIG")
    if env:
        return env
    for candidate in DEFAULT_CONFIGS:
        if Path(candidate).exists():
            return candidate
    return DEFAULT_CONFIGS[0]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hallctl", description="Controller of a government service hall's hardware."
    )
    p.add_argument("--version", action="version", version=f"hallctl {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "-c",
            "--config",
            default=None,
            help="hall file (default: $HALLCTL_CONFIG, /etc/hallctl/hall.yaml, "
            "config/example.yaml)",
        )

    def client(sp: argparse.ArgumentParser) -> None:
        with_config(sp)
        sp.add_argument("--socket", type=Path, help="control socket (default: from the hall file)")
        sp.add_argument("--json", action="store_true", help="print the raw JSON response")

    sp = sub.add_parser("run", help="run the daemon")
    with_config(sp)
    sp.add_argument("--log-level", default=os.environ.get("HALLCTL_LOG_LEVEL", "info"))
    sp.add_argument("--json-logs", action="store_true", default=None, help="JSON log lines")

    sp = sub.add_parser("check", help="validate a hall file; print every problem with its line")
    with_config(sp)

    sp = sub.add_parser("schemas", help="write JSON Schemas of events and requests")
    sp.add_argument("--out", type=Path, default=Path("docs/schemas"))
    sp.add_argument("--check", action="store_true", help="exit 1 if the files differ")

    sp = sub.add_parser("status", help="windows, queues, devices and alarms")
    client(sp)

    sp = sub.add_parser("ticket", help="issue a ticket")
    client(sp)
    sp.add_argument("service")
    group = sp.add_mutually_exclusive_group()
    group.add_argument("--green", action="store_true", help="绿色通道")
    group.add_argument("--appointment", metavar="CODE", help="预约 check-in code")
    sp.add_argument("--id", dest="id_value", help="ID number or phone (hashed, never stored)")

    for verb, action in WINDOW_VERBS.items():
        sp = sub.add_parser(verb, help=f"window action: {action}")
        client(sp)
        sp.add_argument("window", type=int)
        if verb == "open":
            sp.add_argument("--staff", help="staff id serving at the window")
        if verb == "pause":
            sp.add_argument("--reason")
        if verb == "finish":
            sp.add_argument("--case", dest="case_no", help="办件编号")
        if verb == "callback":
            sp.add_argument("--ticket")

    sp = sub.add_parser("transfer", help="move the window's ticket to another service's line")
    client(sp)
    sp.add_argument("window", type=int)
    sp.add_argument("service")
    sp.add_argument("--front", action="store_true", help="to the front of the line")

    sp = sub.add_parser("evaluate", help="record an evaluation: 1..5 or 非常满意 … 非常不满意")
    client(sp)
    sp.add_argument("window", type=int)
    sp.add_argument("level")
    sp.add_argument("--reason")

    sp = sub.add_parser("reprint", help="print a ticket again")
    client(sp)
    sp.add_argument("ticket")

    sp = sub.add_parser("rejoin", help="a no-show rejoins the line")
    client(sp)
    sp.add_argument("ticket")

    sp = sub.add_parser("eta", help="a waiting ticket's place and expected wait, as of now")
    client(sp)
    sp.add_argument("ticket")

    import importlib

    for module in EXTENSIONS:
        importlib.import_module(module).register(sub, with_config)

    sp = sub.add_parser("demo", help="a whole hall on simulated devices (see README)")
    sp.add_argument("--speed", type=float, default=1.0)
    sp.add_argument("--duration", type=float, default=None, help="seconds, then stop")
    sp.add_argument("--no-ui", action="store_true")
    sp.add_argument("--modbus", action="store_true", help="add Modbus TCP evaluator + display")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if hasattr(args, "run_extension"):
        return int(args.run_extension(args))
    if args.command == "check":
        return cmd_check(args.config or default_config())
    if args.command == "run":
        return cmd_run(args)
    if args.command == "schemas":
        from hallctl.schemas import write_schemas

        return write_schemas(args.out, check=args.check)
    if args.command == "demo":
        from hallctl.demo import run_demo

        return int(
            run_demo(
                speed=args.speed, duration=args.duration, ui=not args.no_ui, modbus=args.modbus
            )
        )
    return cmd_client(args)


def cmd_check(path: str) -> int:
    from hallctl.config import ConfigError, load_config

    try:
        cfg = load_config(path)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(
        f"{path}: OK — hall {cfg.hall.id} ({cfg.hall.name}), {len(cfg.services)} services, "
        f"{len(cfg.windows)} windows, {len(cfg.staff)} staff"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hallctl.config import ConfigError, load_config
    from hallctl.daemon import DataDirLocked, run_daemon
    from hallctl.logging import configure_logging

    configure_logging(args.log_level, json=args.json_logs)
    path = args.config or default_config()
    try:
        cfg = load_config(path)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    try:
        run_daemon(cfg)
    except DataDirLocked as e:
        print(f"hallctl: {e}", file=sys.stderr)
        return 1
    return 0


def _request(args: argparse.Namespace) -> dict[str, Any]:
    c = args.command
    if c == "status":
        return {"action": "status"}
    if c == "ticket":
        req: dict[str, Any] = {"action": "take_ticket", "service": args.service}
        if args.green:
            req["channel"] = "green"
        if args.appointment:
            req.update(channel="appointment", appointment_code=args.appointment)
        if args.id_value:
            req["id_value"] = args.id_value
        return req
    if c in WINDOW_VERBS:
        req = {"action": WINDOW_VERBS[c], "window": args.window}
        for opt in ("staff", "reason", "case_no", "ticket"):
            if getattr(args, opt, None):
                req[opt] = getattr(args, opt)
        return req
    if c == "transfer":
        return {
            "action": "transfer",
            "window": args.window,
            "service": args.service,
            "front": args.front,
        }
    if c == "evaluate":
        level: Any = int(args.level) if args.level.isdigit() else args.level
        req = {"action": "evaluate", "window": args.window, "level": level}
        if args.reason:
            req["reason"] = args.reason
        return req
    if c in ("reprint", "rejoin"):
        return {"action": c, "ticket": args.ticket}
    if c == "eta":
        return {"action": "ticket_eta", "ticket": args.ticket}
    raise AssertionError(c)


def _socket_for(args: argparse.Namespace) -> Path:
    if args.socket:
        return Path(args.socket)
    env_dir = os.environ.get("HALLCTL_DATA_DIR")
    from hallctl.config import ConfigError, load_config
    from hallctl.daemon import socket_path

    try:
        return socket_path(load_config(args.config or default_config()))
    except ConfigError:
        if env_dir:
            return Path(env_dir) / "control.sock"
        raise


def cmd_client(args: argparse.Namespace) -> int:
    from hallctl.config import ConfigError
    from hallctl.control import ControlError, control_request_sync

    request = _request(args)
    request.setdefault("source", "cli")
    if request["action"] not in ("status", "ticket_eta"):
        request["request_id"] = f"cli:{uuid.uuid4()}"
    try:
        response = control_request_sync(_socket_for(args), request, timeout=15.0)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    except ControlError as e:
        print(f"hallctl: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(response, ensure_ascii=False, indent=2))
    else:
        from hallctl.cli_output import render

        print(render(request["action"], response))
    return 0 if response.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
