"""The ``hallctl`` command: run the daemon, check a hall file, and operate a running hall."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hallctl import __version__, cli_plan, cli_simulate, cli_web, journal_cli, supervision_cli

DEFAULT_CONFIGS = ("/etc/hallctl/hall.yaml", "config/example.yaml")

EXAMPLES = """\
examples:
  hallctl check -c /etc/hallctl/hall.yaml    every problem in a hall file, with its line
  hallctl status                             windows, queues, devices and alarms
  hallctl ticket BDC                         issue a ticket (or: hallctl ticket 不动产登记)
  hallctl open 3 --staff S12                 open window 3 with S12 serving
  hallctl call 3                             call the next citizen to window 3
  hallctl evaluate 3 非常满意                record the citizen's evaluation
  hallctl demo --speed 10                    a whole hall on simulated devices
"""

LEVELS_HELP = (
    "5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意 (number, English or Chinese name)"
)

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

# Commands answered by the daemon over its socket: start-up is most of their wall time.
CLIENT_COMMANDS = frozenset(
    {"status", "ticket", "eta", "transfer", "evaluate", "reprint", "rejoin", "notice",
     *WINDOW_VERBS}
)

# installed for other commands (the demo's view, the page tests), imported by structlog if found
DAEMON_UNUSED = ("rich", "greenlet")

# what each window verb does, in words (the help and the answers never show action names)
WINDOW_HELP = {
    "call": "call the next citizen to the window (叫号)",
    "recall": "call the ticket in hand again (重呼)",
    "noshow": "the called citizen did not come (过号)",
    "start": "the citizen arrived: service starts",
    "finish": "service done (办结)",
    "pause": "pause the window (暂停)",
    "resume": "resume a paused window",
    "open": "open the window (开窗)",
    "close": "close the window; a ticket in hand is finished",
    "suspend": "put the ticket in service aside (挂起)",
    "callback": "call a suspended ticket back (回呼)",
    "ask-evaluation": "ask the citizen to evaluate (请评价)",
}


def default_config() -> str:
    env = os.environ.get("HALLCTL_CONFIG")
    if env:
        return env
    for candidate in DEFAULT_CONFIGS:
        if Path(candidate).exists():
            return candidate
    return DEFAULT_CONFIGS[0]


def build_parser(all_commands: bool = True) -> argparse.ArgumentParser:
    """The parser; without ``all_commands``, only the built-in ones (the client commands).

    Subcommands that live in their own modules import what they run at module level (config
    models, asyncio, structlog): registering them cost `hallctl status` 200 ms of its start-up.
    """
    p = argparse.ArgumentParser(
        prog="hallctl",
        description="Controller of a government service hall's hardware.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    sp.add_argument(
        "--log-level", default=os.environ.get("HALLCTL_LOG_LEVEL", "info"),
        help="debug, info, warning or error (default: $HALLCTL_LOG_LEVEL or info)",
    )
    sp.add_argument("--json-logs", action="store_true", default=None, help="JSON log lines")

    sp = sub.add_parser("check", help="validate a hall file; print every problem with its line")
    with_config(sp)

    from hallctl.accounts import cli as accounts_cli

    accounts_cli.add_parser(sub, with_config)

    sp = sub.add_parser("schemas", help="write JSON Schemas of events and requests")
    sp.add_argument("--out", type=Path, default=Path("docs/schemas"), help="directory to write")
    sp.add_argument("--check", action="store_true", help="exit 1 if the files differ")

    journal_cli.add_parser(sub, with_config)

    sp = sub.add_parser("status", help="windows, queues, devices and alarms")
    client(sp)

    sp = sub.add_parser("ticket", help="issue a ticket")
    client(sp)
    sp.add_argument("service", help="service code or Chinese name, e.g. BDC or 不动产登记")
    group = sp.add_mutually_exclusive_group()
    group.add_argument("--green", action="store_true", help="绿色通道")
    group.add_argument("--appointment", metavar="CODE", help="预约 check-in code")
    sp.add_argument("--id", dest="id_value", help="ID number or phone (hashed, never stored)")

    for verb in WINDOW_VERBS:
        sp = sub.add_parser(verb, help=WINDOW_HELP[verb], description=WINDOW_HELP[verb])
        client(sp)
        sp.add_argument("window", type=int, help="window number")
        if verb == "open":
            sp.add_argument("--staff", help="staff id serving at the window")
        if verb == "pause":
            sp.add_argument("--reason", help="why the window pauses (kept with the event)")
        if verb == "finish":
            sp.add_argument("--case", dest="case_no", help="办件编号")
        if verb == "callback":
            sp.add_argument("--ticket", help="which suspended ticket (default: the oldest)")

    sp = sub.add_parser("transfer", help="move the window's ticket to another service's line")
    client(sp)
    sp.add_argument("window", type=int, help="window number")
    sp.add_argument("service", help="the other service: code or Chinese name")
    sp.add_argument("--front", action="store_true", help="to the front of the line")

    sp = sub.add_parser("evaluate", help="record an evaluation: 1..5 or 非常满意 … 非常不满意")
    client(sp)
    sp.add_argument("window", type=int, help="window number")
    sp.add_argument("level", help=LEVELS_HELP)
    sp.add_argument("--reason", help="why (required for 不满意 and 非常不满意 when configured)")

    sp = sub.add_parser("reprint", help="print a ticket again")
    client(sp)
    sp.add_argument("ticket", help="ticket number, e.g. A012")

    sp = sub.add_parser("rejoin", help="a no-show rejoins the line")
    client(sp)
    sp.add_argument("ticket", help="ticket number, e.g. A012")

    if all_commands:
        from hallctl.cli_collect import add_parser as add_collect

        add_collect(sub)
    cli_web.add_parsers(sub, client)  # light (argparse only): its client commands are here
    sp = sub.add_parser("eta", help="a waiting ticket's place and expected wait, as of now")
    client(sp)
    sp.add_argument("ticket", help="ticket number, e.g. A012")
    cli_simulate.register(sub, with_config)  # light at import, like cli_plan
    cli_plan.register(sub, with_config)

    sp = sub.add_parser("demo", help="a whole hall on simulated devices (see README)")
    sp.add_argument(
        "--speed", type=float, default=1.0,
        help="how much faster than real time (default 1: a hall minute lasts 10 s)",
    )
    sp.add_argument("--duration", type=float, default=None, help="seconds, then stop")
    sp.add_argument(
        "--no-ui", action="store_true",
        help="a plain line per call instead of the live view (automatic on a pipe)",
    )
    sp.add_argument("--modbus", action="store_true", help="add Modbus TCP evaluator + display")
    if all_commands:
        from hallctl.voice import cli as voice_cli

        voice_cli.register(sub)
    supervision_cli.register(sub)  # light (argparse only)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)  # no global option takes
    if command == "run":
        # structlog imports rich (and pygments) to pretty-print tracebacks and greenlet for its
        # deprecated thread-locals whenever they are installed; the daemon uses neither: 6 MB
        # resident (docs/performance.md). Blocked before the parser is built, as subcommand
        # modules import structlog.
        for unused in DAEMON_UNUSED:
            sys.modules.setdefault(unused, None)  # type: ignore[arg-type]
    args = build_parser(all_commands=command not in CLIENT_COMMANDS).parse_args(argv)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at interpreter exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `hallctl status | head`: the reader has gone; say nothing more (Python's own recipe:
        # point stdout at /dev/null so the interpreter's final flush does not fail again)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
    if hasattr(args, "handler"):  # subcommands that live in their own module
        return int(args.handler(args))
    if args.command == "check":
        return cmd_check(args.config or default_config())
    if args.command == "run":
        return cmd_run(args)
    if args.command == "journal":
        return journal_cli.run(args, args.config or default_config())
    if args.command == "passwd":
        from hallctl.accounts import cli as accounts_cli

        return accounts_cli.run(args, args.config or default_config())
    if args.command == "schemas":
        from hallctl.schemas import write_schemas

        return write_schemas(args.out, check=args.check)
    if args.command == "collect":
        from hallctl.cli_collect import cmd_collect

        return cmd_collect(args)
    if args.command == "screen-token":
        return cli_web.screen_token(args)
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
    if cfg.voice is not None:  # the clip set must say every enabled template
        from hallctl.voice.checks import clip_set_problems

        if voice_problems := clip_set_problems(cfg, cfg.voice, before_first_start=True):
            print(*(f"{path}: voice: {p}" for p in voice_problems), sep="\n", file=sys.stderr)
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
    wrong = state_directory_mismatch(cfg.data_dir, path, os.environ)
    if wrong:
        print(f"hallctl: {wrong}", file=sys.stderr)
        return 1
    from hallctl.startup_errors import STARTUP_ERRORS, startup_message

    try:
        run_daemon(cfg)
    except DataDirLocked as e:
        print(f"hallctl: {e}", file=sys.stderr)
        return 1
    except STARTUP_ERRORS as e:
        # A clear sentence, not a traceback: a lost journal tail, a full disk.
        print(f"hallctl: {startup_message(e, cfg.data_dir)}", file=sys.stderr)
        return 1
    return 0


def state_directory_mismatch(
    data_dir: Path, config_path: str, env: Mapping[str, str]
) -> str | None:
    """Under systemd, the hall file's data_dir must be the unit's StateDirectory.

    The hall file is the one place that says where the daemon lives: `hallctl status -c
    /etc/hallctl/hall.yaml` finds the control socket there. A unit that moved the daemon
    elsewhere (an environment override) would leave the operator's CLI looking in the wrong
    place, so a disagreement stops the start with the fix in the message.
    """
    state = env.get("STATE_DIRECTORY", "").split(":")[0]
    if not state or Path(state).resolve() == data_dir.resolve():
        return None
    return (
        f"{config_path} says data_dir: {data_dir}, but systemd gives this service {state} "
        f"(StateDirectory=). Set `data_dir: {state}` in {config_path}, so that the daemon "
        "and `hallctl status` use the same directory."
    )


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
    if c == "notice":
        return cli_web.request(args)
    if c == "eta":
        return {"action": "ticket_eta", "ticket": args.ticket}
    raise AssertionError(c)


def _socket_for(args: argparse.Namespace) -> Path:
    if args.socket:
        return Path(args.socket)
    env_dir = os.environ.get("HALLCTL_DATA_DIR")
    from hallctl.socket_locator import socket_from_hall_file

    found = socket_from_hall_file(Path(args.config or default_config()))
    if found is not None:
        return found  # without loading the hall file: most of a client command's wall time
    from hallctl.config import ConfigError, load_config
    from hallctl.daemon import socket_path

    try:
        return socket_path(load_config(args.config or default_config()))
    except ConfigError:
        if env_dir:
            return Path(env_dir) / "control.sock"
        raise


def _config_error() -> type[Exception]:
    # ConfigError only if the hall file was loaded: importing hallctl.config costs 300 ms
    config = sys.modules.get("hallctl.config")
    return config.ConfigError if config is not None else _NoConfigError  # type: ignore[no-any-return]


class _NoConfigError(Exception):
    """Stands for ConfigError while hallctl.config is not imported (it cannot be raised then)."""


def cmd_client(args: argparse.Namespace) -> int:
    from hallctl.control_client import ControlError, control_request_sync

    request = _request(args)
    request.setdefault("source", "cli")
    if request["action"] not in ("status", "ticket_eta"):
        request["request_id"] = f"cli:{uuid.uuid4()}"
    try:
        response = control_request_sync(_socket_for(args), request, timeout=15.0)
    except _config_error() as e:
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
