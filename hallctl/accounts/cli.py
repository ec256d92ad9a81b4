"""`hallctl passwd STAFF`: set a staff member's web password (or PIN), stored as argon2id."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable


def add_parser(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    with_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    sp = sub.add_parser(
        "passwd",
        help="set a staff member's password or PIN for the web pages",
        description="Set the password (or PIN, at least 6 characters) a staff member logs in "
        "with on /staff and /supervisor. Only its argon2id hash is stored, in the credentials "
        "file of the data directory. Ends that person's open sessions.",
        epilog="examples:\n  hallctl passwd S05\n  printf 'secret99\\n' | hallctl passwd S05 "
        "--stdin\n  hallctl passwd S05 --remove",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    with_config(sp)
    sp.add_argument("staff", metavar="STAFF", help="staff id or staff number from the hall file")
    sp.add_argument("--stdin", action="store_true", help="read the password from standard input")
    sp.add_argument("--remove", action="store_true", help="remove the password (no web log-in)")


def run(args: argparse.Namespace, config_path: str) -> int:
    from hallctl.accounts.credentials import Credentials
    from hallctl.accounts.passwords import WeakPassword
    from hallctl.accounts.sessions import SessionStore
    from hallctl.config import ConfigError, load_config
    from hallctl.privacy import load_or_create_secret

    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    staff = next((s for s in cfg.staff if args.staff in (s.id, s.staff_no)), None)
    if staff is None:
        known = ", ".join(f"{s.id} ({s.staff_no} {s.name})" for s in cfg.staff) or "none"
        print(f"hallctl: no staff member {args.staff!r}; the hall file has: {known}",
              file=sys.stderr)
        return 1
    credentials = Credentials(cfg.accounts.credentials_file or cfg.data_dir / "credentials.json")
    if args.remove:
        removed = credentials.remove(staff.id)
        print(f"{staff.id} {staff.name}: " + ("password removed" if removed else "had none"))
    else:
        if args.stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"new password for {staff.id} {staff.name}: ")
            if getpass.getpass("again: ") != password:
                print("hallctl: the two passwords differ; nothing changed", file=sys.stderr)
                return 1
        try:
            credentials.set_password(staff.id, password)
        except WeakPassword as e:
            print(f"hallctl: {e}; nothing changed", file=sys.stderr)
            return 1
        print(f"{staff.id} {staff.name}: password set")
    secret = load_or_create_secret(cfg.privacy.secret_file or cfg.data_dir / "secret")
    store = SessionStore(cfg.data_dir / "sessions.db", secret, cfg.accounts)
    try:
        ended = store.end_all(staff.id)
        store.succeeded(staff.id)  # a new password lifts a lock-out
    finally:
        store.close()
    if ended:
        print(f"ended {ended} open session(s)")
    return 0
