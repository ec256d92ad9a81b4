"""Poll-cycle time of 32 Modbus RTU units on one simulated 9600-baud line.

Reproduce:  .venv/bin/python bench/bench_modbus.py [--seconds 10] [--units 32] [--baud 9600]

The wire (``hallctl.sim.wire``) and the 32 simulated units (``hallctl.sim.modbus_devices``)
run in their own processes; this process runs only the real ``ModbusLink``. The wire holds
every frame for its wire time (11 bits a character) and keeps 3.5 characters of silence
before every frame, so the theoretical minimum of one cycle is, per transaction,
(request bytes + response bytes) x character time + 2 x 3.5 characters. Efficiency is that
minimum over the measured cycle time (floor: 80%).

Phase 2 adds one unit nobody answers: the extra line time it costs per degradation period
(expected: about one timeout, since an offline unit is probed once per period).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hallctl.modbus.config import ModbusLineConfig  # noqa: E402
from hallctl.modbus.health import DeviceHealth  # noqa: E402
from hallctl.modbus.line import LineDevice, ModbusLink  # noqa: E402
from hallctl.modbus.plan import ReadBlock, plan_groups  # noqa: E402
from hallctl.modbus.profile import load_profile  # noqa: E402

PROFILE = "modbus-evaluator"


def _spawn(args: list[str], until: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line or (until and line != until):
        proc.kill()
        raise RuntimeError(f"{args[0]} did not start: {line!r}")
    return proc, line


def _device(cfg: ModbusLineConfig, unit: int) -> LineDevice:
    def on_data(_b: ReadBlock, _raw: Sequence[int] | Sequence[bool]) -> None:
        pass

    polls = [(0.001, blocks) for _period, blocks in plan_groups(load_profile(PROFILE))]
    return LineDevice(id=f"u{unit}", unit=unit, timeout=cfg.timeout, retries=cfg.retries,
                      polls=polls, on_data=on_data, on_availability=lambda _on: None,
                      health=DeviceHealth(cfg.fail_threshold, cfg.offline_backoff))


async def _measure(cfg: ModbusLineConfig, units: list[int], dead: list[int],
                   seconds: float) -> tuple[float, int, LinkStats]:
    link = ModbusLink.rtu(cfg)
    for u in units + dead:
        link.attach(_device(cfg, u))
    task = asyncio.create_task(link.run())
    live = [link.devices[f"u{u}"] for u in units]
    deadline = time.monotonic() + 10
    while not all(d.health.state == "online" for d in live) or any(
            link.devices[f"u{u}"].health.state != "offline" for u in dead):
        if time.monotonic() > deadline:
            raise RuntimeError("devices did not settle")
        await asyncio.sleep(0.05)
    reads0 = sum(d.stats.reads for d in live)
    dead0 = sum(link.devices[f"u{u}"].stats.timeouts for u in dead)
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    reads = sum(d.stats.reads for d in live) - reads0
    probes = sum(link.devices[f"u{u}"].stats.timeouts for u in dead) - dead0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return elapsed, reads, LinkStats(probes)


class LinkStats:
    def __init__(self, dead_timeouts: int) -> None:
        self.dead_timeouts = dead_timeouts


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--timeout", type=float, default=0.1)
    parser.add_argument("--backoff", type=float, default=2.0)
    args = parser.parse_args(argv)

    wire, ports = _spawn(["hallctl.sim.wire", "--baud", str(args.baud)], until="")
    host_port, device_port = ports.split()
    sim, _ = _spawn(["hallctl.sim.modbus_devices", "--port", device_port, "--baud",
                     str(args.baud), "--units", f"1-{args.units}", "--profile", PROFILE],
                    until="ready")
    try:
        cfg = ModbusLineConfig(id="bench", port=host_port, baudrate=args.baud,
                               timeout=args.timeout, retries=1, fail_threshold=2,
                               offline_backoff=args.backoff)
        char = 11 / args.baud
        gap = 3.5 * char
        blocks = [b for _p, bs in plan_groups(load_profile(PROFILE)) for b in bs]
        per_txn = [sum(b.rtu_sizes()) * char + 2 * gap for b in blocks]
        floor_cycle = args.units * sum(per_txn)
        units = list(range(1, args.units + 1))

        elapsed, reads, _ = await _measure(cfg, units, [], args.seconds)
        cycles = reads / (args.units * len(blocks))
        cycle = elapsed / cycles
        eff = floor_cycle / cycle
        sizes = "+".join(str(s) for b in blocks for s in b.rtu_sizes())
        print(f"line: {args.units} units x {len(blocks)} read(s) of {sizes} bytes at "
              f"{args.baud} baud, 11 bits/char, gap 3.5 chars = {gap * 1e3:.2f} ms")
        print(f"theoretical minimum cycle: {floor_cycle * 1e3:.1f} ms "
              f"({sum(per_txn) * 1e3:.2f} ms a transaction)")
        print(f"measured cycle: {cycle * 1e3:.1f} ms over {cycles:.1f} cycles "
              f"in {elapsed:.1f} s")
        print(f"efficiency: {eff:.1%} (floor 80%: {'PASS' if eff >= 0.8 else 'FAIL'})")

        per_read = elapsed / reads
        elapsed2, reads2, stats = await _measure(cfg, units, [args.units + 1], args.seconds)
        periods = elapsed2 / args.backoff
        lost = elapsed2 - reads2 * per_read
        print(f"with one dead unit (timeout {args.timeout * 1e3:.0f} ms, backoff "
              f"{args.backoff:.1f} s): {stats.dead_timeouts} timeouts in {periods:.1f} "
              f"periods; extra line time {lost / periods * 1e3:.0f} ms per degradation "
              f"period ({lost / elapsed2:.1%} of the line), "
              f"{lost / max(stats.dead_timeouts, 1) * 1e3:.0f} ms per probe")
        print(f"reproduce: .venv/bin/python bench/bench_modbus.py --seconds {args.seconds:g} "
              f"--units {args.units} --baud {args.baud}")
    finally:
        for proc in (sim, wire):
            proc.terminate()
            proc.wait(timeout=5)


if __name__ == "__main__":
    asyncio.run(main())
