"""Helpers for the serial tests: run a line owner for the duration of a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from hallctl.transports.serial import SerialLine


@contextlib.asynccontextmanager
async def running(line: SerialLine) -> AsyncIterator[SerialLine]:
    task = asyncio.create_task(line.run())
    try:
        async with asyncio.timeout(3):
            await line.wait_connected()
        yield line
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(predicate: Callable[[], object], within: float = 3.0) -> None:
    """Wait for a condition on simulator/line state that has no event of its own."""
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)
