"""Staff console figures (issue: hall web pages II).

    .venv/bin/python bench/bench_console.py              # about 1 minute
    .venv/bin/python bench/bench_console.py --calls 100   # quicker

1. Staff click → ticket shown on the main display: a console POSTs `call_next` to /api/act;
   the time until a display's live channel (SSE) delivers the change naming that ticket, with
   60 consoles (live channels) and 20 displays connected, 100 windows. Baseline in the same run:
   the engine's own answer time for the same command (durable commit), so the ratio shows what
   the web path adds.
2. A log-in storm (100 log-ins/s, each a full argon2id verify) while a console keeps calling:
   call latency with and without the storm, as a ratio. The hash runs in one worker thread, so
   the event loop that calls numbers is never blocked by it.
All on loopback, bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hallctl.accounts.credentials import Credentials  # noqa: E402
from hallctl.config import parse_config  # noqa: E402
from hallctl.engine import HallEngine  # noqa: E402
from hallctl.journal import Journal  # noqa: E402
from hallctl.web.tokens import token_hash  # noqa: E402
from hallctl.wiring import HttpFront, compose  # noqa: E402

WINDOWS = 100
PASSWORD = "bench-pass-1"


def hall(data_dir: Path) -> str:
    windows = "".join(
        f"  - {{number: {n}, services: [S{n % 10}], default_staff: P{n}}}\n"
        for n in range(1, WINDOWS + 1)
    )
    staff = "".join(
        f"  - {{id: P{n}, name: 员工{n}, staff_no: '{1000 + n}'}}\n" for n in range(1, WINDOWS + 1)
    )
    services = "".join(
        f"  - {{code: S{i}, name: 业务{i}, prefix: {chr(65 + i)}, digits: 4}}\n" for i in range(10)
    )
    return (
        f"version: 1\nhall: {{id: bench, name: 基准大厅}}\ndata_dir: {data_dir}\n"
        f"services:\n{services}windows:\n{windows}staff:\n{staff}"
        f"  - {{id: BOSS, name: 主任, staff_no: '9000', access: supervisor}}\n"
        "http: {port: 0}\n"
        "accounts: {login_per_min_per_address: 100000}\n"
        "web:\n  screens:\n"
        f"    - {{id: main, page: display, token_sha256: {token_hash('tok')}}}\n"
    )


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


async def sse_lines(http: aiohttp.ClientSession, url: str, sink: asyncio.Queue[tuple[float, str]]
                    | None) -> None:
    async with http.get(url) as r:
        assert r.status == 200, r.status
        async for raw in r.content:
            if sink is not None and raw.startswith(b"data: "):
                sink.put_nowait((time.perf_counter(), raw.decode()))


async def login(http: aiohttp.ClientSession, base: str, staff_no: str) -> str:
    async with http.post(base + "/api/login",
                         json={"staff": staff_no, "password": PASSWORD}) as r:
        body = await r.json()
        assert body["ok"], body
        return str(body["result"]["csrf"])


async def run(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        config = parse_config(hall(data), env={})
        creds = Credentials(data / "credentials.json")
        for s in config.staff:
            creds.set_password(s.id, PASSWORD)
        with Journal(data / "journal.db") as journal:
            engine = HallEngine(config, journal, secret=b"b" * 32)
            engine.recover()
            parts = compose(config, engine)
            front = next(p for p in parts if isinstance(p, HttpFront))
            tasks = [asyncio.create_task(engine.run())]
            tasks += [asyncio.create_task(p.run()) for p in parts]
            await front.started.wait()
            base = front.server.base_url
            try:
                await measure(engine, base, calls)
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)


async def measure(engine: HallEngine, base: str, calls: int) -> None:
    for n in range(1, WINDOWS + 1):
        await engine.execute({"action": "open_window", "window": n})
    for _i in range(calls * 2 + 10):
        await engine.execute({"action": "take_ticket", "service": "S1"})
    jar = aiohttp.CookieJar(unsafe=True)
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(cookie_jar=jar, connector=conn) as http:
        csrf = await login(http, base, "1001")  # P1 at window 1 (serves S1)
        display: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        listeners = [asyncio.create_task(sse_lines(http, base + "/live/display/main?t=tok",
                                                   display if i == 0 else None))
                     for i in range(20)]
        listeners += [asyncio.create_task(sse_lines(http, base + "/live/console", None))
                      for _ in range(60)]
        await asyncio.sleep(1.0)
        while not display.empty():
            display.get_nowait()
        click: list[float] = []
        for _ in range(calls):
            t0 = time.perf_counter()
            async with http.post(base + "/api/act", headers={"X-CSRF-Token": csrf},
                                 json={"action": "call_next", "window": 1}) as r:
                ticket = (await r.json())["result"]["ticket"]
            while True:
                at, line = await asyncio.wait_for(display.get(), 5)
                if f'"current":{{"ticket":"{ticket}"' in line or f'"{ticket}"' in line:
                    click.append((at - t0) * 1000)
                    break
        engine_ms: list[float] = []
        for _ in range(calls):
            t0 = time.perf_counter()
            await engine.execute({"action": "call_next", "window": 11})  # serves S1 too
            engine_ms.append((time.perf_counter() - t0) * 1000)
        for t in listeners:
            t.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        print(f"click → main display, {calls} calls, 60 consoles + 20 displays, {WINDOWS} windows:")
        print(f"  p50 {statistics.median(click):.1f} ms  p99 {pct(click, 99):.1f} ms (floor 150)")
        print(f"  engine alone (durable commit) p50 {statistics.median(engine_ms):.1f} ms "
              f"p99 {pct(engine_ms, 99):.1f} ms; web path p99 / engine p99 = "
              f"{pct(click, 99) / max(pct(engine_ms, 99), 0.01):.1f}x")
        await storm(engine, http, base, csrf, calls)


async def call_latencies(http: aiohttp.ClientSession, base: str, csrf: str, n: int) -> list[float]:
    out = []
    for i in range(n):
        action = "call_next" if i % 2 == 0 else "finish"
        t0 = time.perf_counter()
        async with http.post(base + "/api/act", headers={"X-CSRF-Token": csrf},
                             json={"action": action, "window": 1}) as r:
            await r.read()
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.02)
    return out


async def storm(engine: HallEngine, http: aiohttp.ClientSession, base: str, csrf: str,
                calls: int) -> None:
    quiet = await call_latencies(http, base, csrf, calls)
    stop = asyncio.Event()
    done = {"logins": 0, "answered": 0}

    async def one(staff_no: str) -> None:
        async with aiohttp.ClientSession() as s, s.post(
                base + "/api/login", json={"staff": staff_no, "password": PASSWORD}) as r:
            await r.read()
            done["answered"] += 1

    async def storm_loop() -> None:
        pending: set[asyncio.Task[None]] = set()
        i = 0
        while not stop.is_set():
            i += 1
            task = asyncio.create_task(one(str(1000 + (i % WINDOWS) + 1)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            done["logins"] += 1
            await asyncio.sleep(0.01)  # 100 log-ins per second
        for task in list(pending):
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    t0 = time.perf_counter()
    storm_task = asyncio.create_task(storm_loop())
    loaded = await call_latencies(http, base, csrf, calls)
    stop.set()
    await storm_task
    elapsed = time.perf_counter() - t0
    print(f"log-in storm: {done['logins'] / elapsed:.0f} log-ins/s sent, "
          f"{done['answered'] / elapsed:.0f}/s answered (argon2id, one hashing thread)")
    print(f"  call latency quiet p50 {statistics.median(quiet):.1f} p99 {pct(quiet, 99):.1f} ms; "
          f"during storm p50 {statistics.median(loaded):.1f} p99 {pct(loaded, 99):.1f} ms; "
          f"ratio p99 {pct(loaded, 99) / max(pct(quiet, 99), 0.01):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    asyncio.run(run(args.calls))


if __name__ == "__main__":
    main()
