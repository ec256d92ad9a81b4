"""CLI commands for the hall pages: `notice` (changes the displays' scrolling line, journaled)
and `screen-token` (a new token for a screen, and the hash that goes into the hall file)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

COMMANDS = ("notice", "screen-token")


def add_parsers(sub: Any, client: Callable[[argparse.ArgumentParser], None]) -> None:
    sp = sub.add_parser("notice", help="change the displays' scrolling notice line (journaled)",
                        description="An empty TEXT brings back the hall file's notice.",
                        epilog='example: hallctl notice "今日 16:00 停止取号" --zone floor2')
    client(sp)
    sp.add_argument("text", help="the notice; \"\" = the hall file's `web.notice`")
    sp.add_argument("--zone", help="only displays of this zone (default: every display)")
    sp = sub.add_parser("screen-token", help="make a token for a screen (kiosk, display)",
                        description="Prints a new token for the screen's start URL and the "
                        "token_sha256 line for its entry under web.screens.")
    sp.add_argument("screen", help="the screen's id, e.g. main, w1, K1")


def request(args: argparse.Namespace) -> dict[str, Any]:
    req: dict[str, Any] = {"action": "set_notice", "text": args.text}
    if args.zone:
        req["zone"] = args.zone
    return req


def screen_token(args: argparse.Namespace) -> int:
    from hallctl.web.tokens import new_token, token_hash

    token = new_token()
    print(f"token (put it in the screen's URL as ?t=…, keep it nowhere else):\n  {token}")
    print(f"hall file, under web.screens, entry id {args.screen}:\n"
          f"  token_sha256: {token_hash(token)}")
    return 0
