"""Modbus devices for the demo hall (``hallctl demo --modbus``).

A pymodbus server on loopback TCP plays a Modbus evaluator and a Modbus LED number display
at the last window, as a Modbus TCP gateway would in a hall. The daemon polls them like real
hardware; a simulated citizen answers the evaluator whenever its prompt lights up.
"""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

from hallctl.config.models import HallConfig
from hallctl.modbus.config import ModbusConfig
from hallctl.modbus.profile import load_profile
from hallctl.sim.modbus_devices import ModbusSim

EVALUATOR_UNIT, DISPLAY_UNIT = 1, 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_modbus(cfg: HallConfig, port: int) -> HallConfig:
    window = cfg.windows[-1].number
    host = f"127.0.0.1:{port}"
    section = ModbusConfig.model_validate(
        {
            "devices": [
                {"id": "mb-evaluator", "profile": "modbus-evaluator", "host": host,
                 "unit": EVALUATOR_UNIT, "window": window},
                {"id": "mb-display", "profile": "modbus-led-display", "host": host,
                 "unit": DISPLAY_UNIT, "window": window},
            ]
        }
    )
    return cfg.model_copy(update={"modbus": section})


def simulator(port: int) -> ModbusSim:
    return ModbusSim(
        {
            EVALUATOR_UNIT: load_profile("modbus-evaluator"),
            DISPLAY_UNIT: load_profile("modbus-led-display"),
        },
        tcp=("127.0.0.1", port),
    )


async def citizen_at_the_evaluator(sim: ModbusSim, speed: float, stats: dict[str, Any]) -> None:
    """Press a key (mostly satisfied) a moment after the prompt lights up."""
    rng = random.Random()
    while True:
        await asyncio.sleep(0.2)
        if await sim.get(EVALUATOR_UNIT, "prompt") == 1:
            await asyncio.sleep(rng.uniform(1, 3) / max(speed, 0.1))
            key = rng.choices([1, 2, 3, 4], weights=[60, 30, 8, 2])[0]
            await sim.press(EVALUATOR_UNIT, "key", key)
            stats["presses"] = stats.get("presses", 0) + 1
            await asyncio.sleep(1.0)
