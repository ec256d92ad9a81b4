"""Two busy days of the small hall, the same in any build: the state a snapshot test pickles.

The same commands at the same hall times reach the same state whether the core runs as Python
or compiled (setup.py). What is made covers every part of the state a snapshot holds: tickets in
each state, lines with waiting tickets of each class, suspended and transferred tickets, windows
open, paused and closed, staff on duty, evaluations, no-shows, service-time samples and the
arrival profile across a day's rollover. `python -m tests.hall.sample_days OUT` writes the
snapshot pickle of it (for tests/data/; any build).
"""

from __future__ import annotations

import contextlib
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

from hallctl.config import parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from tests.hall.conftest import SMALL_HALL, TZ

START = datetime(2026, 11, 24, 8, 50, tzinfo=TZ)


def sample_hall(commands: int = 600, seed: int = 7) -> Hall:
    hall = Hall(parse_config(SMALL_HALL))
    play(hall, START, commands, seed)
    play(hall, START + timedelta(days=1), commands, seed + 1)
    return hall


def play(hall: Hall, start: datetime, commands: int, seed: int) -> None:
    rng = random.Random(seed)
    now = start

    def run(action: str, **fields: object) -> None:
        with contextlib.suppress(HallError):  # refused: changes nothing, in any build alike
            hall.execute(parse_command({"action": action, **fields}), now)

    for window, staff in ((1, "S1"), (2, "S2"), (3, None), (4, None)):
        run("open_window", window=window, **({"staff": staff} if staff else {}))
    run("staff_check_in", staff="S1", time=now.isoformat())
    for _ in range(commands):
        now += timedelta(seconds=rng.randint(5, 60))
        window = rng.randint(1, 4)
        r = rng.random()
        if r < 0.40:
            run(
                "take_ticket",
                service=rng.choice(["BDC", "SB", "GJJ", "ZH"]),
                channel=rng.choice(["normal", "normal", "green", "appointment"]),
            )
        elif r < 0.60:
            run("call_next", window=window)
        elif r < 0.75:
            run("finish", window=window)
        elif r < 0.79:
            run("start_service", window=window)
        elif r < 0.82:
            run("recall", window=window)
        elif r < 0.85:
            run("no_show", window=window)
        elif r < 0.87:
            run("suspend", window=window)
        elif r < 0.89:
            run("call_back", window=window)
        elif r < 0.91:
            run(
                "transfer",
                window=window,
                service=rng.choice(["SB", "ZH"]),
                front=rng.random() < 0.5,
            )
        elif r < 0.95:
            run("evaluate", window=window, level=rng.randint(1, 5), reason="too slow")
        elif r < 0.97:
            run("pause_window", window=window, reason="break")
        else:
            run("resume_window", window=window)
    run("close_window", window=4)


if __name__ == "__main__":
    from hallctl import snapshot

    Path(sys.argv[1]).write_bytes(snapshot.dumps(sample_hall().state))
