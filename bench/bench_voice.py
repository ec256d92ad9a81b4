"""Voice calling: call → first audio sample, composition, and a burst across zones.

    .venv/bin/python bench/bench_voice.py [--calls 200 --burst 50 --zones 5]

1. Call → first sample handed to the output: ``call_next`` (and ``transfer``) through the real
   engine (durable journal) → record stream → the voice service → composition → ``aplay -D
   null`` started (a real aplay on ALSA's null device, so the figure includes starting the
   player process). Baseline: what speaking through a TTS engine at call time costs (espeak-ng
   synthesising the whole sentence, as halls that use live TTS do). Subject and baseline
   alternate in ``--rounds`` rounds (the machine is shared); medians per round and a ratio.
2. Composing one announcement from the clips in memory (cache miss) and a recall (cache hit),
   against the same baseline, in the same rounds.
3. ``--burst`` calls in one second across ``--zones`` zones (a file speaker at 10× speed,
   max_age 2 s of real time), mixing calls, recalls and transfers: each zone's timeline is
   printed and checked: in order, none overlapping, late ones dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hallctl.config import HallConfig, parse_config  # noqa: E402
from hallctl.engine import HallEngine  # noqa: E402
from hallctl.journal import Journal  # noqa: E402
from hallctl.voice.build import build_clips, hall_clips, service_names  # noqa: E402
from hallctl.voice.clips import ClipSet  # noqa: E402
from hallctl.voice.compose import Announcement, Composer  # noqa: E402
from hallctl.voice.outputs import AlsaOutput, FileOutput, Output, Started  # noqa: E402
from hallctl.voice.queue import Dropped  # noqa: E402
from hallctl.voice.service import VoiceService  # noqa: E402
from hallctl.voice.zones import Played  # noqa: E402


def hall(tmp: Path, windows: int, zones: int, voice: str) -> HallConfig:
    per = windows // zones
    zone_lines = "\n".join(
        f"    - {{name: z{z + 1}, windows: {list(range(z * per + 1, (z + 1) * per + 1))}, "
        f"output: {{kind: file}}, max_age_s: 2}}"
        for z in range(zones)
    )
    window_lines = "\n".join(
        f"  - {{number: {n}, services: [BDC, SB]}}" for n in range(1, windows + 1)
    )
    text = f"""
version: 1
hall: {{id: bench, name: 语音基准大厅}}
services:
  - {{code: BDC, name: 不动产登记, prefix: A, digits: 3, daily_cap: 999}}
  - {{code: SB, name: 社保, prefix: B, digits: 3, daily_cap: 999}}
windows:
{window_lines}
data_dir: {tmp / "data"}
voice:
  clips: {tmp / "clips"}
{voice}  zones:
{zone_lines}
"""
    return parse_config(text, "bench.yaml", env={})


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


class Timed:
    """Wraps a real output; notes when the first sample is handed over."""

    def __init__(self, inner: Output) -> None:
        self.inner = inner
        self.started: dict[str, float] = {}

    async def play(self, ann: Announcement, label: str, started: Started) -> None:
        def mark() -> None:
            self.started[label] = time.perf_counter()
            started()

        await self.inner.play(ann, label, mark)


async def running(config: HallConfig, tmp: Path, outputs: dict[str, Output], clips: ClipSet) -> Any:
    journal = Journal(tmp / "journal.db")
    engine = HallEngine(config, journal, secret=b"k" * 32)
    engine.recover()
    writer = asyncio.create_task(engine.run())
    service = VoiceService(config, engine, outputs=outputs, clips=clips)
    task = asyncio.create_task(service.run())
    await service.ready.wait()
    return engine, service, [writer, task], journal


async def stop(
    engine: HallEngine, service: VoiceService, tasks: list[asyncio.Task[Any]], journal: Journal
) -> None:
    writer, voice = tasks
    voice.cancel()
    await asyncio.gather(voice, *service._tasks, return_exceptions=True)  # its last reports
    await engine.drain()
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    journal.close()


async def latency(
    tmp: Path, clips: ClipSet, calls: int, rounds: int
) -> tuple[list[list[float]], list[list[float]], list[list[float]]]:
    """Per round: call → first sample, transfer → first sample, and the live-TTS baseline."""
    config = hall(tmp, 5, 1, "  chime: true\n  repeat: 2\n")
    out = Timed(AlsaOutput("null"))
    engine, service, tasks, journal = await running(config, tmp, {"z1": out}, clips)
    for _ in range(calls + 5):
        await engine.execute({"action": "take_ticket", "service": "BDC"})
    for w in range(1, 6):
        await engine.execute({"action": "open_window", "window": w})
    player = service.players["z1"]

    async def timed(request: dict[str, Any]) -> float:
        while len(player.queue) or player.playing:  # noqa: ASYNC110  (polling is cheap here)
            await asyncio.sleep(0.001)
        before = set(out.started)
        t0 = time.perf_counter()
        r = await engine.execute(request)
        assert r["ok"], r
        while not (new := set(out.started) - before):  # noqa: ASYNC110
            await asyncio.sleep(0.0005)
        return out.started[new.pop()] - t0

    per_round = calls // rounds
    called: list[list[float]] = []
    moved: list[list[float]] = []
    tts: list[list[float]] = []
    for r in range(rounds):
        c: list[float] = []
        m: list[float] = []
        for i in range(per_round):
            window = i % 5 + 1
            c.append(await timed({"action": "call_next", "window": window}))
            if i % 4 == 0:  # every fourth call is sent on to the 社保 line
                m.append(await timed({"action": "transfer", "window": window, "service": "SB"}))
        called.append(c)
        moved.append(m)
        # the baseline in the same round
        tts.append(
            [await asyncio.to_thread(espeak_sentence, "请A012号到5号窗口办理") for _ in range(6)]
        )
        print(f"  round {r + 1}: call p50 {1000 * statistics.median(c):5.1f} ms, "
              f"transfer p50 {1000 * statistics.median(m):5.1f} ms, "
              f"live TTS p50 {1000 * statistics.median(tts[-1]):5.1f} ms")
    await stop(engine, service, tasks, journal)
    return called, moved, tts


def espeak_sentence(text: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["espeak-ng", "-v", "cmn", "--stdout", text], capture_output=True, check=True)
    return time.perf_counter() - t0


async def burst(tmp: Path, clips: ClipSet, n: int, zones: int) -> None:
    windows = zones * 5
    config = hall(tmp, windows, zones, "  chime: true\n  repeat: 1\n")
    assert config.voice is not None
    outputs: dict[str, Output] = {
        z.name: FileOutput(tmp / "out" / z.name, time_scale=10) for z in config.voice.zones
    }
    engine, service, tasks, journal = await running(config, tmp, outputs, clips)
    played: list[Played] = []
    drops: list[tuple[str, Dropped]] = []
    real_announced, real_dropped = service.announced, service.dropped

    def announced(p: Played) -> None:
        played.append(p)
        real_announced(p)

    def dropped(zone: str, d: Dropped) -> None:
        drops.append((zone, d))
        real_dropped(zone, d)

    for p in service.players.values():  # listen in, keep journaling
        p.listener = type("L", (), {
            "announced": staticmethod(announced), "dropped": staticmethod(dropped),
            "speaker_failed": service.speaker_failed, "speaker_ok": service.speaker_ok,
        })()
    for i in range(n + windows):  # both lines have people waiting
        await engine.execute({"action": "take_ticket", "service": "SB" if i % 3 == 2 else "BDC"})
    for w in range(1, windows + 1):
        await engine.execute({"action": "open_window", "window": w})
    t0 = time.monotonic()
    sent: list[tuple[float, int, str]] = []
    current: dict[int, str] = {}  # the ticket each window has in hand
    for i in range(n):  # evenly over one second; after the first round, every third call is a
        window = i % windows + 1  # recall and every fifth a transfer to the other line
        action = "call_next"
        if i >= windows:
            action = "recall" if i % 3 == 0 else "transfer" if i % 5 == 0 else "call_next"
        await asyncio.sleep(max(0.0, t0 + i / n - time.monotonic()))
        request: dict[str, Any] = {"action": action, "window": window}
        if action == "transfer":  # to the other line
            request["service"] = "SB" if current.get(window, "A").startswith("A") else "BDC"
        r = await engine.execute(request)
        if action != "transfer" and r["ok"] and r["result"].get("ticket"):
            current[window] = r["result"]["ticket"]
        sent.append((time.monotonic() - t0, window, action if r["ok"] else f"{action}!"))
    while any(len(p.queue) or p.playing for p in service.players.values()):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    total_s = time.monotonic() - t0
    print(f"\n3. {n} calls, recalls and transfers in one second across {zones} zones "
          f"(file speakers at 10x speed, max_age_s 2):")
    ok = True
    for zone in service.players:
        mine = sorted((p for p in played if p.zone == zone), key=lambda p: p.started_at)
        lost = [d for z, d in drops if z == zone]
        print(f"  zone {zone}: {len(mine)} spoken, "
              f"{sum(d.reason == 'superseded' for d in lost)} superseded, "
              f"{sum(d.reason == 'stale' for d in lost)} stale")
        for p in mine:
            print(f"    {p.started_at - t0:6.3f}–{p.ended_at - t0:6.3f} s  {p.call.ticket} "
                  f"window {p.call.window:2d}  {p.call.trigger:18s} (journal seq {p.call.seq}) "
                  f"waited {p.started_at - p.call.queued_at:5.3f} s")
        for d in lost:
            print(f"    dropped {d.reason:10s} {d.call.ticket} window {d.call.window} "
                  f"{d.call.trigger} (seq {d.call.seq})")
        # a window's calls in the order it made them (a newer one takes the older one's place)
        in_order = all(a.call.seq < b.call.seq or a.call.window != b.call.window
                       for a, b in itertools.pairwise(mine))
        apart = all(a.ended_at <= b.started_at for a, b in itertools.pairwise(mine))
        fresh = all(p.started_at - p.call.queued_at <= 2.0 for p in mine)
        ok = ok and in_order and apart and fresh
        print(f"    in order: {in_order}; none overlapping: {apart}; none older than 2 s: {fresh}")
    print(f"  all zones idle after {total_s:.2f} s; checks {'PASSED' if ok else 'FAILED'}")
    await stop(engine, service, tasks, journal)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--zones", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        config = hall(tmp, 25, 5, "")
        assert config.voice is not None
        await build_clips(config.voice, hall_clips(config, config.voice), tmp / "clips")
        clips = ClipSet.load(tmp / "clips")

        print(f"1. call → first audio sample handed to aplay (engine + journal + voice), "
              f"{args.rounds} rounds alternating with the baseline:")
        called, moved, tts_rounds = await latency(tmp / "lat", clips, args.calls, args.rounds)
        lat = [x for r in called for x in r]
        mov = [x for r in moved for x in r]
        tts = [x for r in tts_rounds for x in r]
        for label, xs, note in (
            ("baseline, live TTS of the sentence (espeak-ng)", tts, ""),
            (f"hallctl voice, {len(lat)} calls", lat, "   (floor p99 < 150 ms)"),
            (f"hallctl voice, {len(mov)} transfers", mov, ""),
        ):
            print(f"  {label:48s} p50 {1000 * pct(xs, 50):6.1f} ms"
                  f"  p99 {1000 * pct(xs, 99):6.1f} ms{note}")
        ratios = [
            statistics.median(t) / statistics.median(c)
            for t, c in zip(tts_rounds, called, strict=True)
        ]
        print(f"  ratio live TTS / hallctl call (p50), per round: "
              f"{' '.join(f'{x:.1f}x' for x in ratios)}; median {statistics.median(ratios):.1f}x")

        composer = Composer(config.voice, clips, service_names(config, config.voice))
        miss: list[float] = []
        hit: list[float] = []
        base: list[float] = []
        for r in range(args.rounds):
            for i in range(400):
                reading = composer.reading(f"A{(400 * r + i) % 1000:03d}", 5, "5号窗口")
                t0 = time.perf_counter()
                composer._compose(reading)
                miss.append(time.perf_counter() - t0)
            composer.compose("A012", 5, "5号窗口")
            for _ in range(400):
                t0 = time.perf_counter()
                composer.compose("A012", 5, "5号窗口")
                hit.append(time.perf_counter() - t0)
            base += [espeak_sentence("请A012号到5号窗口办理") for _ in range(3)]
        transfer = composer.reading("A012", 5, "5号窗口", trigger="ticket.transferred",
                                    service="SB")
        moved_ms = []
        for _ in range(400):
            t0 = time.perf_counter()
            composer._compose(transfer)
            moved_ms.append(time.perf_counter() - t0)
        print("\n2. composing an announcement (chime + words × 2, about 14 s of audio):")
        print(f"  from the clips in memory: p50 {1000 * statistics.median(miss):.3f} ms"
              f"  p99 {1000 * pct(miss, 99):.3f} ms   (floor < 5 ms)")
        print(f"  a transfer, from clips:   p50 {1000 * statistics.median(moved_ms):.3f} ms"
              f"  p99 {1000 * pct(moved_ms, 99):.3f} ms")
        print(f"  recall, from the cache:   p50 {1e6 * statistics.median(hit):.1f} µs")
        print(f"  ratio live TTS / composing (p50): "
              f"{statistics.median(base) / statistics.median(miss):.0f}x")

        await burst(tmp / "burst", clips, args.burst, args.zones)


if __name__ == "__main__":
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    asyncio.run(main())
