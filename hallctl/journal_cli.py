"""`hallctl journal accept-loss`: start again on a journal whose tail was lost.

The daemon refuses a journal that ends before its high-water mark (see journal_mark.py). When
no backup can bring the tail back, the operator accepts the loss with this command: the mark
is set back to the journal's end and the daemon starts on what the journal still holds. Run it
with the daemon stopped (it takes the data directory's lock).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

ConfigOption = Callable[[argparse.ArgumentParser], None]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               with_config: ConfigOption) -> None:
    sp = sub.add_parser("journal", help="journal maintenance (see docs/operations.md)")
    actions = sp.add_subparsers(
        dest="journal_command", required=True, metavar="ACTION", help="what to do with the journal"
    )
    accept = actions.add_parser(
        "accept-loss",
        help="start again on a journal whose tail was lost (after a failed restore)",
        description="Set the journal's high-water mark back to its last event, so the daemon "
        "starts on what the journal still holds. Events after it are gone for good: ticket "
        "numbers issued in them will be issued again today. Stop the daemon first.",
    )
    with_config(accept)


def run(args: argparse.Namespace, config_path: str) -> int:
    from hallctl.config import ConfigError, load_config
    from hallctl.daemon import DataDirLocked, data_dir_lock
    from hallctl.journal import Journal, JournalBehind, JournalError

    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    path = cfg.data_dir / "journal.db"
    try:
        with data_dir_lock(cfg.data_dir):
            try:
                with Journal(path):
                    print(f"{path}: consistent, nothing to accept")
                    return 0
            except JournalBehind as behind:
                lost = (behind.last_seq, behind.mark)
            with Journal(path, accept_loss=True):
                pass
    except (DataDirLocked, JournalError, OSError) as e:
        print(f"hallctl: {e}", file=sys.stderr)
        return 1
    print(
        f"{path}: loss accepted. The journal ends at seq {lost[0]}; events {lost[0] + 1}.."
        f"{lost[1]} are gone. Check today's tickets on paper: numbers issued in the lost "
        "events will be issued again."
    )
    return 0
