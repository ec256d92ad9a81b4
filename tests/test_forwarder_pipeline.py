"""The generic forwarder with two batches in flight, against a real journal and a back end of
the test's own making (the forwarder is what is under test): a batch that got through moves the
cursor even when the batch after it fails, also at the journal's tail, where the forwarder
does not read ahead and saves both batches' cursor in one go."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from hallctl.forward.config import SinkCommon
from hallctl.forward.contract import SinkUnavailable
from hallctl.forward.forwarder import SinkForwarder
from hallctl.journal import Journal, Record
from tests.test_mqtt_support import StandInEngine


class GatedBackEnd:
    """Holds the first batch until `release` is set; refuses every later batch at once."""

    pipeline = 2

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.batches: list[list[int]] = []

    async def open(self) -> None:
        pass

    async def deliver(self, records: Sequence[Record]) -> None:
        self.batches.append([r.seq for r in records])
        if records[0].seq != 1:
            raise SinkUnavailable("back end busy")
        await self.release.wait()

    async def close(self) -> None:
        pass


async def _until(condition: Callable[[], bool], within_s: float = 10) -> None:
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - a test may poll
            await asyncio.sleep(0.01)


async def test_a_delivered_batch_is_saved_when_the_next_one_fails_at_the_tail(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path / "journal.db") as journal:
        engine = StandInEngine(journal)
        await engine.append("ticket.issued", count=8)  # a whole batch of 5, then 3: the tail
        config = SinkCommon(name="t", batch=5, start="beginning", retry_min_s=60,
                            retry_max_s=60)
        back_end = GatedBackEnd()
        forwarder = SinkForwarder(engine, config, back_end, "test")
        task = asyncio.create_task(forwarder.run())
        try:
            # both batches are out before the first is acknowledged; the second has failed
            await _until(lambda: back_end.batches == [[1, 2, 3, 4, 5], [6, 7, 8]])
            assert journal.cursor("sink:t") == 0
            back_end.release.set()
            await _until(lambda: forwarder.health.state == "retrying")
            # the first batch got through: its cursor is saved although the second failed
            assert journal.cursor("sink:t") == 5
            assert (forwarder.health.cursor, forwarder.health.delivered) == (5, 5)
            assert forwarder.health.last_error == "back end busy"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
