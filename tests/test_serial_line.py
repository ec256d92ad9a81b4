"""The serial line owner over real pseudo-terminals, against simulated FF 68 devices."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Hashable
from pathlib import Path

import pytest

from hallctl.codec.frame import Frame, FrameDecoder
from hallctl.codec.loader import load_profile
from hallctl.codec.mapping import ack_frame, render_output, reply_predicate
from hallctl.codec.profile import AckRule
from hallctl.sim.serial_devices import FF68Bus
from hallctl.transports.serial import SerialLine, SerialLineConfig
from tests.serial_support import eventually, running

# The FF 68 notes do not say whether keypads answer host frames; these tests use a keypad
# that echoes them, so that the line has replies to wait for.
KEYPAD = load_profile("ff68-keypad").model_copy(update={"device_ack": AckRule(mode="echo")})
EVALUATOR = load_profile("ff68-evaluator")


def config(link: Path, **kw: object) -> SerialLineConfig:
    base: dict[str, object] = {
        "id": "bus1",
        "port": str(link),
        "gap_ms": 2,
        "timeout_ms": 80,
        "retries": 1,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "misses_to_offline": 2,
        "offline_backoff_min_s": 5,
        "offline_backoff_max_s": 10,
    }
    return SerialLineConfig.model_validate({**base, **kw})


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[FF68Bus]:
    sim = FF68Bus(tmp_path / "ttyBUS", KEYPAD, EVALUATOR, keypads=[1, 2, 3], evaluators=[11])
    sim.start()
    yield sim
    sim.close()


async def test_transaction_gets_the_devices_reply(bus: FF68Bus) -> None:
    line = SerialLine(config(bus.link), FrameDecoder(KEYPAD))
    async with running(line):
        beep = render_output(KEYPAD, "beep", address=2)
        reply = await line.transact(beep, expect=reply_predicate(KEYPAD, beep) or bool, device=2)
        assert reply == beep
        digits = render_output(KEYPAD, "show_ticket", address=3, number="012")
        assert await line.transact(digits, expect=lambda f: f.raw == digits, device=3) == digits
    assert bus.shown[2] == {"output": "beep"}
    assert bus.shown[3]["number"] == "012"  # decoded back from the digit cells


async def test_unanswered_transaction_times_out_after_retries(bus: FF68Bus) -> None:
    bus.dead.add(1)
    line = SerialLine(config(bus.link, timeout_ms=100, retries=2), FrameDecoder(KEYPAD))
    async with running(line):
        beep = render_output(KEYPAD, "beep", address=1)
        t0 = time.monotonic()
        assert await line.transact(beep, expect=lambda f: f.raw == beep, device=1) is None
        elapsed = time.monotonic() - t0
    assert len(bus.received_frames[1]) == 3  # one try + two retries
    assert 0.3 <= elapsed < 0.6


async def test_key_presses_reach_the_owner_of_the_address_and_are_acknowledged(
    bus: FF68Bus,
) -> None:
    line = SerialLine(config(bus.link), FrameDecoder(KEYPAD))
    got: dict[int, list[Frame]] = {1: [], 11: []}
    tasks: set[asyncio.Task[None]] = set()

    def acknowledging(profile, address: int):  # type: ignore[no-untyped-def]
        def on_frame(frame: Frame) -> None:
            got[address].append(frame)
            ack = ack_frame(profile, frame)
            assert ack is not None
            task = asyncio.get_running_loop().create_task(line.send(ack, priority=True))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        return on_frame

    line.listen(1, acknowledging(KEYPAD, 1))
    line.listen(11, acknowledging(EVALUATOR, 11))
    async with running(line):
        assert await bus.press(1, 0x0C)
        assert await bus.press(1, 0x0F, digit=0x06)
        assert await bus.evaluate(11, 2)
    assert [f.data for f in got[1]] == [b"\x0c", b"\x06\x0f"]
    assert [f.data for f in got[11]] == [b"\x02"]
    assert bus.presses_sent == 3  # every press acknowledged first time: no repeats


async def test_an_unacknowledged_press_is_repeated_by_the_keypad(bus: FF68Bus) -> None:
    line = SerialLine(config(bus.link), FrameDecoder(KEYPAD))
    seen: list[Frame] = []
    line.listen(None, seen.append)  # hears it, never acknowledges
    bus.ack_timeout = 0.05
    async with running(line):
        assert not await bus.press(2, 0x0D)
        await eventually(lambda: len(seen) == bus.repeats)
    assert {f.raw for f in seen} == {seen[0].raw}


async def test_dead_device_is_skipped_and_its_neighbour_stays_fast(bus: FF68Bus) -> None:
    bus.dead.add(1)
    changes: list[tuple[Hashable, bool]] = []
    line = SerialLine(
        config(bus.link, timeout_ms=100, retries=1),
        FrameDecoder(KEYPAD),
        on_availability=lambda d, online: changes.append((d, online)),
    )
    live_latency: list[float] = []
    async with running(line):
        for _ in range(8):  # a poll cycle over both devices
            for address in (1, 2):
                beep = render_output(KEYPAD, "beep", address=address)
                t0 = time.monotonic()
                reply = await line.transact(
                    beep, expect=lambda f, b=beep: f.raw == b, device=address
                )
                if address == 2:
                    assert reply == beep
                    live_latency.append(time.monotonic() - t0)
    assert changes == [(1, False)]
    assert not line.availability.is_online(1) and line.availability.is_online(2)
    # two misses of (1 try + 1 retry) at 100 ms, then the dead one costs nothing
    assert len(bus.received_frames[1]) == 4
    cycle_after = [live_latency[i] for i in range(2, 8)]
    assert max(cycle_after) < 0.05, cycle_after


async def test_offline_device_comes_back_after_its_backoff(bus: FF68Bus) -> None:
    bus.dead.add(1)
    changes: list[tuple[Hashable, bool]] = []
    line = SerialLine(
        config(bus.link, retries=0, offline_backoff_min_s=0.2),
        FrameDecoder(KEYPAD),
        on_availability=lambda d, online: changes.append((d, online)),
    )
    beep = render_output(KEYPAD, "beep", address=1)

    async def poll() -> bytes | None:
        return await line.transact(beep, expect=lambda f: f.raw == beep, device=1)

    async with running(line):
        assert await poll() is None
        assert await poll() is None
        assert changes == [(1, False)]
        before = len(bus.received_frames[1])
        assert await poll() is None  # inside the backoff: skipped, nothing sent
        assert len(bus.received_frames[1]) == before
        bus.dead.discard(1)
        await asyncio.sleep(0.25)
        assert await poll() == beep  # the probe
    assert changes == [(1, False), (1, True)]


async def test_unplug_and_replug_reconnects_and_fires_hooks(bus: FF68Bus) -> None:
    line = SerialLine(config(bus.link), FrameDecoder(KEYPAD))
    events: list[str] = []

    async def connected() -> None:
        events.append("connected")
        # what a driver does: re-render current state after every (re)connect
        await line.send(render_output(KEYPAD, "show_ticket", address=3, number=str(len(events))))

    async def disconnected() -> None:
        events.append("disconnected")

    line.on_connected.append(connected)
    line.on_disconnected.append(disconnected)
    async with running(line):
        await eventually(lambda: bus.shown.get(3, {}).get("number") == "1")
        bus.unplug()
        await eventually(lambda: not line.connected)
        beep = render_output(KEYPAD, "beep", address=2)
        assert await line.transact(beep, expect=bool) is None  # line down: no wait
        await asyncio.sleep(0.3)  # a few failed reopen attempts (no symlink)
        bus.plug()
        await eventually(lambda: line.connected and line.connects == 2)
        await eventually(lambda: bus.shown.get(3, {}).get("number") == "3")
        assert await line.transact(beep, expect=lambda f: f.raw == beep) == beep
    assert events == ["connected", "disconnected", "connected"]
