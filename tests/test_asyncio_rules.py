"""Rules for asyncio code in the package that a linter does not know."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hallctl"


def test_no_asyncio_wait_for_because_python_3_11_can_swallow_a_cancellation() -> None:
    # In 3.11, wait_for() loses a cancel that arrives as the awaited thing completes
    # (CPython gh-86296, fixed by 3.12's rewrite on asyncio.timeout). A lost cancel kept a
    # TaskGroup (the MQTT link's session) waiting forever at shutdown. `async with
    # asyncio.timeout(...)` does not have the race.
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "asyncio.wait_for(" in line
    ]
    assert offenders == []
