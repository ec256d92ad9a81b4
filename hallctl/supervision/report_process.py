"""A day's report files made in a process of their own, so the daemon never imports their code.

Building and rendering a report imports numpy, openpyxl and matplotlib: 45 MB resident that a
daemon would keep for the rest of its life after the first daily report, against a memory floor
of 60 MB for the whole day (docs/performance.md). A fresh interpreter (not a fork: the daemon
has threads, and the child must import) gets the hall file's model as a pickle on stdin, writes
the files exactly as `hallctl report` would, and answers one JSON line on stdout: the event's
headline figures and the file paths. It ends, and its memory goes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hallctl.config.models import HallConfig


class ReportFailed(Exception):
    """The report process ended without writing the day's files."""


@dataclass(frozen=True)
class Written:
    summary: dict[str, float | int | None]  # the report.daily event's figures
    paths: list[Path]


async def write_day(
    config: HallConfig, day: date, formats: Sequence[str], out_dir: Path
) -> Written:
    """Write ``day``'s report in each of ``formats`` into ``out_dir`` in a child interpreter."""
    job = pickle.dumps((config, day, list(formats), out_dir), protocol=pickle.HIGHEST_PROTOCOL)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await proc.communicate(job)
    finally:
        if proc.returncode is None:  # cancelled (the daemon stops): the child goes too
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise ReportFailed(lines[-1] if lines else f"report process ended with {proc.returncode}")
    answer = json.loads(out)
    return Written(answer["summary"], [Path(p) for p in answer["paths"]])


def _main() -> None:
    from hallctl.supervision.daily import summary
    from hallctl.supervision.output import write_reports

    config, day, formats, out_dir = pickle.loads(sys.stdin.buffer.read())
    report, paths = write_reports(config, "day", day, formats, out_dir)
    answer: dict[str, Any] = {"summary": summary(report), "paths": [str(p) for p in paths]}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    _main()
