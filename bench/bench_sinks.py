"""A city of halls, end to end, on loopback: halls → NATS JetStream (3 nodes) → `hallctl collect`
→ PostgreSQL. Bounded (a minute or two), everything started and stopped here. Not in CI.

    .venv/bin/python bench/bench_sinks.py [--halls 50 --procs 5 --backlog 2000 --rate 10 --chaos 30]

Halls are real `HallEngine`s on real journals (`--procs` processes, halls split among them),
each with a NATS sink to all three nodes. Phases:

(a) capacity: every hall journals a backlog (`--backlog` tickets, as after an outage), then its
    sink drains it into JetStream (events/s with every PubAck in); then `hallctl collect`
    drains the stream into PostgreSQL (events/s committed). End to end = the slower of the two;
    floor 2,500 events/s (10x a city peak of 50 halls x 5 events/s);
(b) chaos at a realistic peak (`--rate` tickets/s per hall, a 20,000-ticket day compressed):
    kill -9 one NATS node (back 7 s later), kill -9 the collector (back 3 s later), restart
    PostgreSQL; lag (row written - event time) p50/p99; then drain and check every event is in
    the central table exactly once and each hall's rows are in journal order;
(c) a hall's calling latency (take_ticket p50/p99) with its sink healthy, down (no server) and
    slow (a webhook answering after 1 s): ratio to healthy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import nats
import structlog
from nats.js.api import StreamConfig

from hallctl.journal import Journal
from tests.backend_servers import NatsServer, PostgresServer, nats_cluster

FLOOR = 2500.0


def quiet() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


# --- the hall processes -------------------------------------------------------------------


async def hall_worker(base: Path, halls: list[str], servers: str, rate: int, seconds: float,
                      backlog: int, drain_s: float = 120.0) -> dict[str, Any]:
    """Run `halls`. With `backlog`: journal that many tickets per hall first with the sinks
    stopped (as after an outage), then start the sinks and time the drain. Else: issue `rate`
    tickets a second per hall for `seconds` with the sinks running."""
    from tests.sinks_support import running_engine, sinks_running

    sink = (
        f"sinks:\n  - {{name: city, type: nats, servers: [{servers}], create_stream: false, "
        "start: beginning, batch: 500, retry_min_s: 0.2, retry_max_s: 2, timeout_s: 5}\n"
    )
    out: dict[str, Any] = {}
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        engines = [
            await stack.enter_async_context(running_engine(base / hall, sink, hall))
            for hall in halls
        ]

        async def issue(engine: Any, count: int, burst: int, period: float) -> None:
            end = loop.time() + seconds
            issued = 0
            while (issued < count) if count else (loop.time() < end):
                started = loop.time()
                answers = await asyncio.gather(*(
                    engine.execute({"action": "take_ticket", "service": ("SB", "BDC")[i % 2]})
                    for i in range(burst)
                ))
                assert all(a["ok"] for a in answers), answers[0]
                issued += burst
                await asyncio.sleep(max(0.0, period - (loop.time() - started)))

        if backlog:
            await asyncio.gather(*(issue(e, backlog, 50, 0.0) for e in engines))
            out["_sinks_started"] = time.time()
            for engine in engines:
                await stack.enter_async_context(sinks_running(engine))
        else:
            for engine in engines:
                await stack.enter_async_context(sinks_running(engine))
            await asyncio.gather(*(issue(e, 0, max(1, rate // 10), 0.1) for e in engines))
        end = loop.time() + drain_s
        while loop.time() < end and any(  # noqa: ASYNC110 - polls the journal's cursors
            e.journal.cursor("sink:city") < e.last_seq() for e in engines
        ):
            await asyncio.sleep(0.05)
        out["_drained"] = time.time()
        for hall, engine in zip(halls, engines, strict=True):
            out[hall] = {"last_seq": engine.last_seq(),
                         "cursor": engine.journal.cursor("sink:city")}
    return out


# --- the city ------------------------------------------------------------------------------


def start_collector(urls: str, dsn: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "hallctl.cli", "collect", "--nats", urls, "--pg", dsn,
             "--batch", "1000", "--stats-every", "5"],
            stdout=f, stderr=subprocess.STDOUT,
        )


def start_halls(args: argparse.Namespace, base: Path, urls: str, seconds: float,
                prefix: str, backlog: int = 0) -> list[tuple[subprocess.Popen[bytes], Path]]:
    halls = [f"{prefix}{i:02d}" for i in range(args.halls)]
    procs = []
    for p in range(args.procs):
        mine = halls[p::args.procs]
        result = base / f"{prefix}-worker{p}.json"
        procs.append((subprocess.Popen(
            [sys.executable, __file__, "--worker", str(base), ",".join(mine), urls,
             str(args.rate), str(seconds), str(result), str(backlog)],
        ), result))
    return procs


async def count_rows(dsn: str) -> int:
    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(dsn, timeout=2)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM hallctl.events"))
        finally:
            await conn.close()
    return -1


async def lag_figures(dsn: str, since: float) -> tuple[float, float]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
            "received_at - ts)), percentile_cont(0.99) WITHIN GROUP (ORDER BY "
            "extract(epoch FROM received_at - ts)) FROM hallctl.events "
            "WHERE received_at >= to_timestamp($1)", since)
        return float(row[0] or 0), float(row[1] or 0)
    finally:
        await conn.close()


async def verify(dsn: str, base: Path) -> tuple[int, list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, hall FROM hallctl.events ORDER BY n")
    finally:
        await conn.close()
    by_hall: dict[str, list[str]] = {}
    for r in rows:
        by_hall.setdefault(r["hall"], []).append(r["id"])
    problems = []
    total = 0
    for journal_path in sorted(base.glob("*/data/journal.db")):  # noqa: ASYNC240 - a bench
        hall = journal_path.parent.parent.name
        with Journal(journal_path) as journal:
            ids = [r.id for r in journal.replay()]
        total += len(ids)
        if by_hall.get(hall) != ids:
            got = by_hall.get(hall, [])
            problems.append(f"{hall}: journal {len(ids)}, table {len(got)}, "
                            f"in order: {got == ids[:len(got)]}")
    return total, problems


async def city(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="hallctl-city-"))
    pg = PostgresServer()
    nodes: list[NatsServer] = []
    collector: subprocess.Popen[bytes] | None = None
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        pg.start()
        nodes = nats_cluster(3)
        urls = ",".join(f"'{n.url}'" for n in nodes)
        plain_urls = ",".join(n.url for n in nodes)
        nc = await nats.connect(servers=[n.url for n in nodes])
        js = nc.jetstream(timeout=10)
        for _ in range(50):  # the cluster elects its meta leader first
            try:
                await js.add_stream(StreamConfig(name="HALLCTL", subjects=["hallctl.>"],
                                                 num_replicas=3, duplicate_window=600))
                break
            except Exception:
                await asyncio.sleep(0.2)
        await nc.close()
        log = base / "collect.log"
        print(f"{args.halls} halls in {args.procs} processes; 3 NATS nodes (stream with 3 "
              "replicas), 1 collector, PostgreSQL; all on loopback")

        # (a) capacity: a backlog in every journal, drained into JetStream, then into PostgreSQL
        workers = start_halls(args, base, urls, 0, "a", backlog=args.backlog)
        results = {}
        for proc, result in workers:
            proc.wait()
            results.update(json.loads(result.read_text()))
        total = sum(v["last_seq"] for k, v in results.items() if not k.startswith("_"))
        forwarded = sum(v["cursor"] for k, v in results.items() if not k.startswith("_"))
        started = min(json.loads(r.read_text())["_sinks_started"] for _, r in workers)
        drained = max(json.loads(r.read_text())["_drained"] for _, r in workers)
        to_js = forwarded / (drained - started)
        collector = start_collector(plain_urls, pg.dsn, log)
        # timed from the first row to the last: the collector's start-up is not its throughput
        t0 = time.time()
        first: tuple[float, int] | None = None
        rows = 0
        while rows < total and time.time() - t0 < 300:
            await asyncio.sleep(0.1)
            rows = await count_rows(pg.dsn)
            if first is None and rows > 0:
                first = (time.time(), rows)
        assert first is not None, "the collector wrote nothing"
        to_pg = (rows - first[1]) / max(1e-9, time.time() - first[0])
        end_to_end = min(to_js, to_pg)
        print(f"(a) backlog of {total:,} events ({args.backlog} tickets x {args.halls} halls):")
        print(f"    halls → JetStream  {to_js:8,.0f} events/s (every PubAck in)")
        print(f"    JetStream → PostgreSQL {to_pg:6,.0f} events/s (collector, committed)")
        print(f"    end to end {end_to_end:,.0f} events/s: x{end_to_end / FLOOR:.2f} of the floor "
              f"{FLOOR:,.0f} (= 10x a city peak of 250 events/s)")

        # (b) chaos
        offered = args.halls * args.rate
        print(f"(b) {args.rate} tickets/s per hall (offered {offered}/s) for {args.chaos:.0f} s, "
              "with kills:")
        chaos_from = time.time()
        workers = start_halls(args, base, urls, args.chaos, "c")
        t = args.chaos
        await asyncio.sleep(t * 0.2)
        nodes[1].kill9()
        print(f"    kill -9 NATS node n2 at {t * 0.2:.0f} s", flush=True)
        await asyncio.sleep(t * 0.15)
        collector.kill()
        collector.wait()
        print(f"    kill -9 collector at {t * 0.35:.0f} s", flush=True)
        await asyncio.sleep(3)
        collector = start_collector(plain_urls, pg.dsn, log)
        await asyncio.sleep(max(0.0, t * 0.2 - 3))
        nodes[1].start()
        print(f"    n2 back at {t * 0.55:.0f} s; restarting PostgreSQL", flush=True)
        pg.stop()
        pg.start()
        for proc, _ in workers:
            proc.wait()
        drained = time.monotonic()
        problems = ["not checked"]
        while problems and time.monotonic() - drained < 120:
            await asyncio.sleep(1)
            total, problems = await verify(pg.dsn, base)
        p50, p99 = await lag_figures(pg.dsn, chaos_from)
        print(f"    lag event → row during (b): p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
        print(f"    after drain ({time.monotonic() - drained:.0f} s): {total:,} events in "
              f"{len(list(base.glob('*/data/journal.db')))} journals; "  # noqa: ASYNC240
              + ("every one exactly once, each hall in order" if not problems
                 else f"PROBLEMS: {problems[:5]}"))
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.kill()
        if collector is not None and collector.poll() is None:
            collector.terminate()
            collector.wait()
        for node in nodes:
            node.close()
        pg.close()
        shutil.rmtree(base, ignore_errors=True)


# --- (c) a hall's calling latency while its sink is down or slow ----------------------------


async def calling_latency(n: int) -> None:
    from aiohttp import web

    from tests.sinks_support import running_engine, sinks_running

    async def slow(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(1.0)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    os.environ["BENCH_HOOK_SECRET"] = "x"
    node = NatsServer("lat")
    node.start()
    cases = {
        "healthy (nats)": f"{{name: s, type: nats, servers: ['{node.url}'], start: now}}",
        "down (nats, no server)": "{name: s, type: nats, servers: ['nats://127.0.0.1:1'], "
                                  "retry_min_s: 0.05, retry_max_s: 0.1}",
        "slow (webhook, 1 s)": f"{{name: s, type: webhook, url: 'http://127.0.0.1:{port}/hook',"
                               " secret_env: BENCH_HOOK_SECRET, batch: 1, timeout_s: 30}",
    }
    results: dict[str, tuple[float, float]] = {}
    try:
        for label, entry in cases.items():
            with tempfile.TemporaryDirectory() as tmp:
                hall = running_engine(Path(tmp), f"sinks:\n  - {entry}\n")
                async with hall as engine, sinks_running(engine):
                    took = []
                    for i in range(n):
                        started = time.perf_counter()
                        answer = await engine.execute(
                            {"action": "take_ticket", "service": ("SB", "BDC")[i % 2]}
                        )
                        took.append(time.perf_counter() - started)
                        assert answer["ok"]
                        await asyncio.sleep(0.002)
            took.sort()
            results[label] = (statistics.median(took), took[int(len(took) * 0.99) - 1])
    finally:
        node.close()
        await runner.cleanup()
    _, base99 = results["healthy (nats)"]
    print(f"(c) take_ticket latency over {n} tickets, by the state of the hall's sink:")
    for label, (p50, p99) in results.items():
        print(f"    {label:<24} p50 {p50 * 1000:5.2f} ms  p99 {p99 * 1000:5.2f} ms  "
              f"(p99 x{p99 / base99:.2f} of healthy)")


def main() -> None:
    quiet()
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        base, halls, servers, rate, seconds, result, backlog = sys.argv[2:9]
        out = asyncio.run(hall_worker(Path(base), halls.split(","), servers, int(rate),
                                      float(seconds), int(backlog)))
        Path(result).write_text(json.dumps(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halls", type=int, default=50)
    parser.add_argument("--procs", type=int, default=5)
    parser.add_argument("--backlog", type=int, default=2000, help="tickets per hall in (a)")
    parser.add_argument("--rate", type=int, default=10, help="tickets a second per hall in (b)")
    parser.add_argument("--chaos", type=float, default=30.0, help="seconds of phase (b)")
    parser.add_argument("--latency", type=int, default=400, help="tickets in phase (c)")
    args = parser.parse_args()
    asyncio.run(city(args))
    asyncio.run(calling_latency(args.latency))


if __name__ == "__main__":
    main()
