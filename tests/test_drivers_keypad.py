"""Window keypads and strips end to end: simulated devices on real ptys, the real engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.drivers_support import REPEAT_WINDOW_S, rig
from tests.serial_support import eventually

CALL, RECALL, EVALUATE, PAUSE, TRANSFER, CONFIRM = 0x0C, 0x0D, 0x0B, 0x12, 0x13, 0x0F
BEEP = 0x03


async def test_a_call_key_calls_the_ticket_shows_it_on_the_strip_and_keypad(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        await r.do("open_window", window=1, staff="S1")
        await r.do("take_ticket", service="BDC")
        await eventually(lambda: r.led.shown_text.get(1) == "1号窗口 王芳 工号0101")

        assert await r.bus.press(1, CALL)

        called = await r.event("ticket.called")
        assert called["ticket"] == "A001" and called["window"] == 1
        assert called["_request_id"].startswith("kp-1:")
        await eventually(lambda: r.led.shown_text.get(1) == "请A001号到1号窗口")
        await eventually(lambda: r.bus.shown.get(1, {}).get("number") == "001")
        assert r.bus.shown[1] == {"output": "show_digits", "waiting": "000", "number": "001"}
        await eventually(lambda: r.led.shown_text.get(90) == "A001→1号窗口")
        assert 2 not in r.bus.shown or r.bus.shown[2].get("number") != "001"  # not window 2's


async def test_pause_key_toggles_and_confirm_digits_select_no_show_suspend_call_back(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        await r.do("open_window", window=1, staff="S1")
        for _ in range(3):
            await r.do("take_ticket", service="BDC")

        assert await r.bus.press(1, PAUSE)
        await r.event("window.paused", lambda d: d["window"] == 1)
        await eventually(lambda: r.led.shown_text.get(1) == "暂停服务")
        await asyncio.sleep(REPEAT_WINDOW_S)  # a second press, not the keypad's repeat
        assert await r.bus.press(1, PAUSE)
        await r.event("window.resumed", lambda d: d["window"] == 1)
        await eventually(lambda: r.led.shown_text.get(1) == "1号窗口 王芳 工号0101")

        await r.bus.press(1, CALL)
        await r.bus.press(1, CONFIRM, digit=0x06)
        assert (await r.event("ticket.no_show"))["ticket"] == "A001"
        await asyncio.sleep(REPEAT_WINDOW_S)
        await r.bus.press(1, CALL)
        await r.bus.press(1, CONFIRM, digit=0x00)
        assert (await r.event("ticket.suspended"))["ticket"] == "A002"
        await r.bus.press(1, CONFIRM, digit=0x03)
        assert (await r.event("ticket.called_back"))["ticket"] == "A002"
        await eventually(lambda: r.led.shown_text.get(1) == "请A002号到1号窗口")

        await r.bus.press(1, TRANSFER)  # transfer_to: SB in the device config
        moved = await r.event("ticket.transferred")
        assert (moved["ticket"], moved["to_service"]) == ("A002", "SB")


async def test_a_refused_key_beeps_and_an_unacknowledged_repeat_is_not_a_second_press(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        await r.do("open_window", window=2, staff="S2")
        assert await r.bus.press(2, CALL)  # nobody waiting: queue_empty
        await eventually(lambda: any(f.function == BEEP for f in r.bus.received_frames[2]))

        await r.do("take_ticket", service="SB")
        await r.do("take_ticket", service="SB")
        seq = r.engine.last_seq()
        await asyncio.sleep(REPEAT_WINDOW_S)
        # the keypad sends the same press twice (its ack was lost): one call, not two
        frame = bytes.fromhex("FF 68 03 03 68 02 01 0C 0F 16")
        r.bus.port.write(frame)
        await asyncio.sleep(0.05)
        r.bus.port.write(frame)
        await r.event("ticket.called", after=seq)
        await asyncio.sleep(0.3)
        assert [e["ticket"] for e in r.events("ticket.called")] == ["B001"]
        assert r.devices.stats()["devices"]["kp-2"]["repeats"] == 1
        # acknowledged both times (echo): the keypad stops repeating either way
        assert [f.raw for f in r.bus.received_frames[2]].count(frame) == 2


async def test_bad_frames_on_the_line_are_counted_and_skipped(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.do("open_window", window=1, staff="S1")
        await r.do("take_ticket", service="BDC")
        good = bytes.fromhex("FF 68 03 03 68 01 01 0C 0E 16")
        bad_checksum = bytes.fromhex("FF 68 03 03 68 01 01 0C 55 16")
        r.bus.port.write(b"\x00\x13garbage" + bad_checksum + b"\xff\x68\x03" + good)
        assert (await r.event("ticket.called"))["ticket"] == "A001"
        decoder = r.devices.stats()["lines"]["bus"]["decoder"]
        assert decoder["checksum"] >= 1 and decoder["noise_bytes"] > 0
        assert r.devices.stats()["lines"]["bus"]["bad_frames"] >= 1
        assert len(r.events("ticket.called")) == 1


async def test_evaluation_key_opens_the_evaluator_and_its_button_records_the_level(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        await r.do("open_window", window=1, staff="S1")
        await r.do("take_ticket", service="BDC")
        await r.bus.press(1, CALL)
        await r.bus.press(1, EVALUATE)
        await r.event("evaluation.requested", lambda d: d["window"] == 1)
        await eventually(lambda: r.bus.shown.get(101) == {"output": "start_evaluation"})

        assert await r.bus.evaluate(101, 1)  # button 1 is 满意 (4) in ff68-evaluator
        recorded = await r.event("evaluation.recorded")
        assert (recorded["ticket"], recorded["level"], recorded["source"]) == ("A001", 4, "ev-1")
