"""Simulated Modbus devices on pymodbus's own server, built from the same profiles.

One server is one RS-485 line (``ModbusSerialServer`` on the device end of a pty, e.g. a
``TimedWire``) or one TCP gateway (``ModbusTcpServer`` on loopback), with several units.
Helpers press keys and read what a display shows by the profile's point names. Faults:
``dead`` units never answer (as if unplugged from the line) and ``failing`` units answer
every request with a Modbus exception.

``python -m hallctl.sim.modbus_devices --port PTY --units 1-32 --profile NAME`` runs a line
in its own process (the benchmark does this so the simulator does not share a GIL with the
client it measures).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from hallctl.modbus.codec import Value, decode, encode
from hallctl.modbus.line import quiet_pymodbus
from hallctl.modbus.profile import ModbusProfile, Point, load_profile

_GET_FC = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
_SET_FC = {"coil": 15, "discrete": 2, "holding": 16, "input": 4}
_WRITE_FCS = {5, 6, 15, 16}


@dataclass(frozen=True, slots=True)
class SeenWrite:
    unit: int
    function_code: int
    address: int
    values: tuple[int, ...] | tuple[bool, ...]


def _table_size(profile: ModbusProfile, table: str) -> int:
    ends = [p.address + p.span for p in profile.points.values() if p.table == table]
    return max(ends, default=1)


def build_device(unit: int, profile: ModbusProfile, sim: ModbusSim) -> SimDevice:
    """A SimDevice with separate tables, valid from address 0 to the profile's last point."""
    bits = [
        [SimData(0, count=_table_size(profile, t), values=False, datatype=DataType.BITS)]
        for t in ("coil", "discrete")
    ]
    regs = [
        [SimData(0, count=_table_size(profile, t), values=0, datatype=DataType.REGISTERS)]
        for t in ("holding", "input")
    ]
    return SimDevice(
        unit,
        simdata=(bits[0], bits[1], regs[0], regs[1]),
        use_bit_addressing=True,
        action=functools.partial(sim.action, unit),
    )


class ModbusSim:
    """A pymodbus server holding several simulated units; an async context manager."""

    def __init__(
        self,
        units: Mapping[int, ModbusProfile],
        *,
        serial_port: str | None = None,
        baudrate: int = 9600,
        tcp: tuple[str, int] | None = None,
    ) -> None:
        if (serial_port is None) == (tcp is None):
            raise ValueError("give exactly one of serial_port or tcp")
        self.units = dict(units)
        self.serial_port = serial_port
        self.baudrate = baudrate
        self.tcp = tcp
        self.dead: set[int] = set()
        self.failing: dict[int, ExcCodes] = {}
        self.writes: list[SeenWrite] = []
        self.requests = 0
        self._local = False  # helpers touching the tables are not requests: no faults
        self._server: ModbusSerialServer | ModbusTcpServer | None = None

    async def action(
        self, unit: int, fc: int, _start: int, _address: int, _count: int,
        _registers: list[int], _values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        return None if self._local else self.failing.get(unit)

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        if sending:
            return pdu
        if pdu.dev_id not in self.units or pdu.dev_id in self.dead:
            # nobody on the line has that address: silence, not an exception answer
            return None
        self.requests += 1
        if pdu.function_code in _WRITE_FCS and pdu.dev_id not in self.failing:
            values = tuple(pdu.bits) if pdu.function_code in (5, 15) else tuple(pdu.registers)
            self.writes.append(SeenWrite(pdu.dev_id, pdu.function_code, pdu.address, values))
        return pdu

    async def __aenter__(self) -> ModbusSim:
        quiet_pymodbus()
        devices = [build_device(u, p, self) for u, p in sorted(self.units.items())]
        trace: Any = self._trace_pdu  # pymodbus types it as never returning None
        if self.serial_port is not None:
            self._server = ModbusSerialServer(
                devices, port=self.serial_port, baudrate=self.baudrate, trace_pdu=trace,
            )
        else:
            assert self.tcp is not None
            self._server = ModbusTcpServer(devices, address=self.tcp, trace_pdu=trace)
        await self._server.serve_forever(background=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    # -- helpers by point name ---------------------------------------------------------------
    def _point(self, unit: int, name: str) -> Point:
        return self.units[unit].points[name]

    async def get(self, unit: int, name: str) -> Value:
        """What the unit holds for ``name`` now (e.g. what a display shows)."""
        assert self._server is not None
        p = self._point(unit, name)
        self._local = True
        try:
            raw = await self._server.async_getValues(unit, _GET_FC[p.table], p.address, p.span)
        finally:
            self._local = False
        return decode(p, raw)

    async def set(self, unit: int, name: str, value: Any) -> None:
        """Change ``name`` as the device itself would (a key press, a sensor)."""
        assert self._server is not None
        p = self._point(unit, name)
        await self._local_set(unit, _SET_FC[p.table], p.address, encode(p, value))

    async def set_bit(self, unit: int, name: str, index: int, value: bool) -> None:
        """Change one element of an array point (one key of a panel)."""
        assert self._server is not None
        p = self._point(unit, name)
        await self._local_set(unit, _SET_FC[p.table], p.address + index, [value])

    async def _local_set(self, unit: int, fc: int, address: int,
                         values: list[int] | list[bool]) -> None:
        assert self._server is not None
        self._local = True
        try:
            await self._server.async_setValues(unit, fc, address, values)
        finally:
            self._local = False

    async def press(self, unit: int, name: str, value: Any = 1, hold: float | None = None) -> None:
        """Press a key: set ``name`` to ``value``; with ``hold``, release it after that long
        (a momentary key); without, it stays until the host clears it (a latching unit)."""
        await self.set(unit, name, value)
        if hold is not None:
            await asyncio.sleep(hold)
            await self.set(unit, name, 0)


def _parse_units(text: str) -> list[int]:
    units: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        units += list(range(int(lo), int(hi or lo) + 1))
    return units


async def _serve(args: argparse.Namespace) -> None:
    profile = load_profile(args.profile)
    sim = ModbusSim({u: profile for u in _parse_units(args.units)},
                    serial_port=args.port, baudrate=args.baud)
    sim.dead = set(_parse_units(args.dead)) if args.dead else set()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with sim:
        print("ready", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="simulated Modbus RTU units on a serial port")
    parser.add_argument("--port", required=True)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--units", default="1")
    parser.add_argument("--profile", default="modbus-evaluator")
    parser.add_argument("--dead", default="", help="units that never answer, e.g. 7 or 3-5")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
