"""Availability: unplugged strips come back showing the current text, dead devices on a
shared line are skipped without slowing their neighbours, missing ports are reported."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.drivers_support import DEVICES_DIR, REPEAT_WINDOW_S, STANDARD_DEVICES, rig
from tests.serial_support import eventually

CALL = 0x0C


def echo_keypad_profile(tmp: Path) -> Path:
    """A keypad model that echoes host frames, so a dead one costs reply time-outs."""
    profiles = tmp / "profiles"
    profiles.mkdir()
    text = (DEVICES_DIR / "ff68-keypad.yaml").read_text()
    (profiles / "ff68-keypad-echo.yaml").write_text(
        text.replace("name: ff68-keypad", "name: ff68-keypad-echo").replace(
            "device_ack: {mode: none}", "device_ack: {mode: echo}"
        )
    )
    return profiles


async def test_a_replugged_strip_comes_back_online_showing_the_current_text(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        await r.do("open_window", window=1, staff="S1")
        for _ in range(2):
            await r.do("take_ticket", service="BDC")
        await r.do("call_next", window=1)
        await eventually(lambda: r.led.shown_text.get(1) == "请A001号到1号窗口")
        online = await r.event("device.online", lambda d: d["device"] == "strip-1")

        r.led.unplug()
        await r.event("device.offline", lambda d: d["device"] == "strip-1")
        await r.do("call_next", window=1)  # happens while the strip is dark
        r.led.shown_text.clear()
        before = len(r.led.received_frames[1])
        r.led.plug()

        await r.event("device.online", lambda d: d["device"] == "strip-1", after=online["_seq"])
        await eventually(lambda: r.led.shown_text.get(1) == "请A002号到1号窗口")
        # the current text only: A001's call is not replayed after the reconnect
        after = [f.data.decode("gb2312") for f in r.led.received_frames[1][before:]]
        assert after and set(after) == {"请A002号到1号窗口"}


async def test_a_dead_keypad_does_not_slow_the_live_one_next_to_it(tmp_path: Path) -> None:
    profiles = echo_keypad_profile(tmp_path)
    devices = [
        {"id": "kp-1", "profile": "ff68-keypad-echo", "line": "bus", "address": 1, "window": 1},
        {"id": "kp-2", "profile": "ff68-keypad-echo", "line": "bus", "address": 2, "window": 2},
    ]
    bus = {"gap_ms": 1, "timeout_ms": 150, "retries": 1, "misses_to_offline": 2,
           "offline_backoff_min_s": 5, "reconnect_min_s": 0.05}
    async with rig(tmp_path, devices, profile_dirs=[profiles], bus_profile="ff68-keypad-echo",
                   bus=bus) as r:
        r.bus.dead.add(1)
        await r.do("open_window", window=1)
        await r.do("open_window", window=2)
        for _ in range(12):
            await r.do("take_ticket", service="BDC")
        latencies = []
        for _ in range(5):
            await r.do("call_next", window=1)  # digits for the dead keypad: time-outs
            seq = r.engine.last_seq()
            t0 = time.perf_counter()
            press = asyncio.create_task(r.bus.press(2, CALL))
            await r.event("ticket.called", lambda d: d["window"] == 2, after=seq)
            latencies.append(time.perf_counter() - t0)
            assert await press  # acknowledged before the keypad gave up repeating
            await asyncio.sleep(REPEAT_WINDOW_S)
        offline = await r.event("device.offline", lambda d: d["device"] == "kp-1")
        assert offline["detail"] == "no answer"
        assert not any(e["device"] == "kp-2" for e in r.events("device.offline"))
        # the hall does not wait for the wire: a press is executed as it arrives, even while
        # the line is busy timing out on the dead keypad
        assert max(latencies) < 0.05, latencies
        await eventually(lambda: r.bus.shown.get(2, {}).get("number") == "010")


async def test_a_port_missing_at_start_up_is_reported_offline(tmp_path: Path) -> None:
    devices = [*STANDARD_DEVICES,
               {"id": "strip-9", "profile": "at-strip", "line": "gone", "address": 9,
                "window": 2}]
    async with rig(tmp_path, devices, gone={"reconnect_min_s": 0.05}) as r:
        offline = await r.event("device.offline", lambda d: d["device"] == "strip-9")
        assert offline["detail"] == "port unavailable"
        assert r.devices.stats()["lines"]["gone"]["connected"] is False
        # the rest of the hall works
        await r.do("take_ticket", service="BDC")
