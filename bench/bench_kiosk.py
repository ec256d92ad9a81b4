"""Kiosk round trip: 20 kiosk simulators taking tickets at once over MQTT 5.

Everything is real: a local Mosquitto (started here), HallEngine on a durable SQLite journal,
the MQTT link and the kiosk gateway in this process; the 20 kiosk simulators in a child
process (kiosks are other machines: they must not share the daemon's CPU and event loop).
Round trip = publish → answer received. Floor: p99 < 50 ms (burst mode).

burst (default): every round, all 20 kiosks press "take ticket" at the same instant; the next
    round starts --gap-ms after the last answer. The latency a citizen sees at a busy moment.
saturate (--saturate): each kiosk sends its next request as soon as it has the answer, with
    no pause: throughput ceiling (hundreds of tickets/s, far beyond any hall) and latency there.

    .venv/bin/python bench/bench_kiosk.py [--kiosks 20] [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import structlog

from hallctl.broker import Mosquitto
from hallctl.config import parse_config
from hallctl.engine import HallEngine
from hallctl.journal import Journal
from hallctl.kiosk.gateway import KioskGateway
from hallctl.kiosk.sim import KioskSim
from hallctl.mqtt.link import MqttLink

FLOOR_P99_MS = 50.0

HALL = """
version: 1
hall: {id: bench, name: 压测大厅}
services:
  - {code: BDC, name: 不动产登记, prefix: A, digits: 4}
  - {code: SB, name: 社保, prefix: B, digits: 4}
windows:
  - {number: 1, services: [BDC, SB]}
mqtt: {url: "%(url)s", state_interval_ms: 500}
kiosks:
  kiosks: [%(kiosks)s]
"""


def _quiet() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


async def _kiosk(url: str, base: str, kiosk_id: str, rounds: int, start: asyncio.Event,
                 rtts: list[float], barrier: asyncio.Barrier | None, gap_s: float) -> None:
    async with KioskSim(url, base, kiosk_id) as kiosk:
        await kiosk.request("list_services")  # connected and answered once: warm
        await start.wait()
        for i in range(rounds):
            if barrier is not None:
                if await barrier.wait() == 0:
                    await asyncio.sleep(gap_s)  # one kiosk sleeps; the rest wait for it below
                await barrier.wait()
            service = "BDC" if i % 2 else "SB"
            t0 = time.perf_counter()
            answer = await kiosk.request("take_ticket", {"service": service})
            rtts.append((time.perf_counter() - t0) * 1000)
            if not answer["ok"]:
                raise RuntimeError(f"{kiosk_id}: {answer}")


async def simulate(
    url: str, base: str, ids: list[str], rounds: int, saturate: bool, gap_s: float
) -> None:
    """The child process: run the kiosks, print `READY`, wait for a line, print the RTTs."""
    start = asyncio.Event()
    rtts: list[float] = []
    barrier = None if saturate else asyncio.Barrier(len(ids))
    tasks = [asyncio.create_task(_kiosk(url, base, k, rounds, start, rtts, barrier, gap_s))
             for k in ids]
    await asyncio.sleep(1.0)  # every kiosk connected and warm
    print("READY", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    t0 = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    print(json.dumps({"rtts": rtts, "elapsed": time.perf_counter() - t0}), flush=True)


async def run(kiosks: int, rounds: int, saturate: bool, gap_ms: int) -> int:
    # Nagle off on all three sockets, or each round trip waits out a 40 ms delayed ACK.
    async with Mosquitto(extra_config="set_tcp_nodelay true") as broker:
        ids = [f"K{i:02d}" for i in range(1, kiosks + 1)]
        entries = ", ".join(f"{{id: {k}, rate_per_min: 6000, burst: 100}}" for k in ids)
        config = parse_config(HALL % {"url": broker.url, "kiosks": entries}, env={})
        assert config.mqtt is not None and config.kiosks is not None
        with tempfile.TemporaryDirectory() as tmp, Journal(Path(tmp) / "journal.db") as journal:
            engine = HallEngine(config, journal, secret=b"b" * 32)
            engine.recover()
            writer = asyncio.create_task(engine.run())
            await engine.execute({"action": "open_window", "window": 1})
            base = config.mqtt.topic_base(config.hall.id)
            gateway = KioskGateway(engine, config.kiosks, base)
            link = MqttLink(engine, config.mqtt,
                            responders=[(gateway.topic_filter, gateway.submit)])
            async with link:
                await asyncio.wait_for(link.wait_online(), 10)
                child = await asyncio.create_subprocess_exec(
                    sys.executable, __file__, "--simulate", broker.url, base, ",".join(ids),
                    "--rounds", str(rounds), "--gap-ms", str(gap_ms),
                    *(["--saturate"] if saturate else []),
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                )
                assert child.stdin is not None and child.stdout is not None
                assert (await child.stdout.readline()).strip() == b"READY"
                child.stdin.write(b"go\n")
                await child.stdin.drain()
                figures = json.loads(await child.stdout.readline())
                await child.wait()
                rtts, elapsed = figures["rtts"], figures["elapsed"]
            await gateway.aclose()
            writer.cancel()
            issued = sum(1 for r in journal.replay() if r.type == "ticket.issued")
    rtts.sort()
    q = statistics.quantiles(rtts, n=100, method="inclusive")
    p50, p99 = q[49], q[98]
    mode = "saturate" if saturate else f"burst (all at once, {gap_ms} ms between rounds)"
    print(f"mode: {mode}")
    print(f"kiosks={kiosks} rounds={rounds} requests={len(rtts)} tickets_journaled={issued}")
    print(f"round trip ms: p50={p50:.2f} p90={q[89]:.2f} p99={p99:.2f} max={rtts[-1]:.2f}")
    print(f"throughput: {len(rtts) / elapsed:.0f} tickets/s over {elapsed:.2f} s")
    if saturate:  # the floor is for the burst; saturation is reported, not judged
        return 0 if issued == len(rtts) else 1
    verdict = "PASS" if p99 < FLOOR_P99_MS else "FAIL"
    print(f"floor p99 < {FLOOR_P99_MS:.0f} ms: {verdict}")
    flags = " --saturate" if saturate else f" --gap-ms {gap_ms}"
    print(f"command: .venv/bin/python bench/bench_kiosk.py --kiosks {kiosks} --rounds {rounds}"
          + flags)
    return 0 if verdict == "PASS" and issued == len(rtts) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--saturate", action="store_true", help="no pause between requests")
    parser.add_argument("--gap-ms", type=int, default=100, help="pause between burst rounds")
    parser.add_argument("--simulate", nargs=3, metavar=("URL", "BASE", "IDS"),
                        help="internal: run the kiosks (child process)")
    args = parser.parse_args()
    _quiet()
    if args.simulate:
        url, base, ids = args.simulate
        asyncio.run(simulate(url, base, ids.split(","), args.rounds, args.saturate,
                             args.gap_ms / 1000))
        return 0
    return asyncio.run(run(args.kiosks, args.rounds, args.saturate, args.gap_ms))


if __name__ == "__main__":
    sys.exit(main())
