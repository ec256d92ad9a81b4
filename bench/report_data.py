"""A realistic busy hall day for the report benchmark and the sample report: a simulated day
run through the pure hall core (arrivals, 100 windows, no-shows, transfers, pauses, evaluations,
差评 with follow-up), journaled like the engine does; other days are copies with dates moved
(written straight into the database, which is fast)."""

from __future__ import annotations

import heapq
import json
import random
import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig, parse_config
from hallctl.hall.commands import parse_command
from hallctl.hall.core import Hall
from hallctl.hall.errors import HallError
from hallctl.ids import new_id
from hallctl.journal import Journal

TZ = ZoneInfo("Asia/Shanghai")
SERVICE_NAMES = ["不动产登记", "社保", "医保", "公积金", "户籍", "出入境", "税务", "工商登记",
                 "交管", "民政", "人才", "住建", "教育", "卫健", "市场监管", "综合受理",
                 "残联", "退役军人", "水电气", "法律援助"]  # fmt: skip


def bench_config(windows: int = 100) -> HallConfig:
    lines = [
        "version: 1",
        "hall: {id: bench-hall, name: 市民服务中心, timezone: Asia/Shanghai,"
        ' hours: ["08:30-17:30"]}',
        "services:",
    ]
    for i, name in enumerate(SERVICE_NAMES):
        prefix = chr(ord("A") + i)
        lines.append(f"  - {{code: S{i:02d}, name: {name}, prefix: {prefix}, digits: 4,"
                     f" avg_service_min: 4, target_wait_min: 20, limit_wait_min: 45}}")  # fmt: skip
    lines.append("windows:")
    # windows per service follow the ticket shares (simulate_day's 1/(i+1) weights), like a
    # hall that staffs its busy lines: three services a window, spread round-robin
    weights = [1 / (i + 1) for i in range(20)]
    share = [max(1, round(3 * windows * w / sum(weights))) for w in weights]
    slots = [i for i in range(20) for _ in range(share[i])]
    for n in range(1, windows + 1):
        svcs = sorted({slots[(3 * n + k * 97) % len(slots)] for k in range(3)})
        lines.append(f"  - {{number: {n}, services: [{', '.join(f'S{s:02d}' for s in svcs)}],"
                     f" default_staff: P{n:03d}}}")  # fmt: skip
    lines.append("staff:")
    names = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "芳强伟敏静丽军磊洋艳勇娟涛明超秀霞平刚桂"
    for n in range(1, windows + 1):
        nm = names[n % 20] + given[(n * 3) % 20] + ("" if n < 21 else given[n % 20])
        lines.append(f"  - {{id: P{n:03d}, name: {nm}, staff_no: '{n:04d}', windows: [{n}]}}")
    lines.append("evaluation: {timeout_s: 60}")
    lines.append("supervision: {norms: {service_limit_min: 15, line_limit: 150}}")
    return parse_config("\n".join(lines) + "\n")


class DayRecorder:
    def __init__(self, config: HallConfig) -> None:
        self.hall = Hall(config)
        self.records: list[tuple[str, str, str, str]] = []  # (day, type, ts, data JSON)

    def __call__(self, now: datetime, request: dict[str, Any]) -> dict[str, Any] | None:
        try:
            out = self.hall.execute(parse_command(request), now)
            events, result = out.events, out.result
        except HallError as err:
            events, result = err.events, None
        ts = now.isoformat(timespec="milliseconds")
        for type_, data in events:
            day = data["day"] if type_ == "day.started" else self.hall.state.day
            self.records.append(
                (day, type_, ts, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
            )
        return result


def simulate_day(config: HallConfig, day: date, tickets: int, seed: int = 1) -> DayRecorder:
    rnd = random.Random(seed)
    rec = DayRecorder(config)
    start = datetime.combine(day, time(8, 30), TZ)
    end_issue = datetime.combine(day, time(17, 0), TZ)
    close = datetime.combine(day, time(17, 30), TZ)
    span = (end_issue - start).total_seconds()
    q: list[tuple[float, int, str, Any]] = []
    seq = 0

    def push(at: datetime, kind: str, payload: Any) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(q, (at.timestamp(), seq, kind, payload))

    windows = [w.number for w in config.windows]
    for p in config.staff:
        late = rnd.random() < 0.05
        t = start - timedelta(minutes=rnd.uniform(5, 25)) + timedelta(minutes=40 if late else 0)
        push(t, "check_in", p.id)
    for n in windows:
        push(start, "open", n)
        if rnd.random() < 0.1:
            push(datetime.combine(day, time(12, 0), TZ) + timedelta(minutes=rnd.uniform(0, 30)),
                 "pause", n)  # fmt: skip
    codes = [s.code for s in config.services]
    weights = [1 / (i + 1) for i in range(len(codes))]  # a few services take most tickets
    for _ in range(tickets):
        # busier mornings: arrivals follow a two-peak shape
        u = rnd.random()
        frac = rnd.betavariate(2, 5) if u < 0.6 else 0.45 + rnd.betavariate(2, 3) * 0.55
        push(start + timedelta(seconds=frac * span), "arrive", rnd.choices(codes, weights)[0])
    t = start
    while t < close:
        push(t, "tick", None)
        t += timedelta(seconds=60)
    for n in windows:
        push(close, "close", n)
    mean_service = 100 * 8.5 * 3600 / tickets / 1.5  # capacity with room for the peaks
    levels = [5] * 72 + [4] * 18 + [3] * 7 + [2] * 2 + [1]
    while q:
        at_ts, _, kind, payload = heapq.heappop(q)
        now = datetime.fromtimestamp(at_ts, TZ)
        if kind == "arrive":
            rec(now, {"action": "take_ticket", "service": payload})
        elif kind == "tick":
            rec(now, {"action": "tick"})
        elif kind == "check_in":
            rec(now, {"action": "staff_check_in", "staff": payload})
        elif kind == "open":
            rec(now, {"action": "open_window", "window": payload, "staff": f"P{payload:03d}"})
            push(now + timedelta(seconds=rnd.uniform(30, 300)), "free", payload)
        elif kind == "pause":
            if rec(now, {"action": "pause_window", "window": payload, "reason": "午休"}):
                push(now + timedelta(minutes=rnd.choice([10, 20, 40])), "resume", payload)
        elif kind == "resume":
            rec(now, {"action": "resume_window", "window": payload})
            push(now, "free", payload)
        elif kind == "close":
            rec(now, {"action": "close_window", "window": payload})
        elif kind == "free":
            if now >= close:
                continue
            w = rec.hall.state.window(payload)
            if w.status != "open":
                continue
            if w.current is not None:
                if rnd.random() < 0.01:
                    target = rnd.choice(codes)
                    rec(now, {"action": "transfer", "window": payload, "service": target})
                else:
                    rec(now, {"action": "finish", "window": payload})
                    if rnd.random() < 0.85:
                        level = rnd.choice(levels)
                        channel = rnd.choice(["evaluator", "evaluator", "qr"])
                        reason = "等候时间长" if level <= 2 else None
                        rec(now, {"action": "evaluate", "window": payload, "level": level,
                                  "reason": reason, "channel": channel})  # fmt: skip
            called = rec(now, {"action": "call_next", "window": payload})
            if not called or called.get("ticket") is None:
                push(now + timedelta(seconds=30), "free", payload)
            elif rnd.random() < 0.03:
                push(now + timedelta(seconds=rnd.choice([5, 60, 90])), "no_show", payload)
            else:
                rec(now + timedelta(seconds=15), {"action": "start_service", "window": payload})
                dur = rnd.expovariate(1 / mean_service) + 20
                push(now + timedelta(seconds=15 + dur), "free", payload)
        elif kind == "no_show" and rec(now, {"action": "no_show", "window": payload}):
            push(now, "free", payload)
    return rec


def write_days(db: Path, records: list[tuple[str, str, str, str]], days: list[date]) -> int:
    """The simulated day's events again for each of ``days`` (dates moved), straight into SQL."""
    with Journal(db):
        pass  # create the schema
    src = records[0][0]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    n = 0
    for d in days:
        new = d.isoformat()
        rows = [
            (new_id(), type_, ts.replace(src, new, 1), new, None, 1,
             data.replace(src, new) if "day" in type_ or "case" in type_ else data)
            for _day, type_, ts, data in records
        ]  # fmt: skip
        conn.executemany(
            "INSERT INTO events (id, type, ts, day, request_id, v, data) VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        n += len(rows)
    conn.execute("COMMIT")
    conn.close()
    return n
