"""`hallctl collect`: the city's collector, JetStream → one PostgreSQL (docs/backends.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from hallctl.forward.collector import Collector

log = structlog.get_logger("hallctl.collect")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sp = sub.add_parser(
        "collect", help="city collector: every hall's events from NATS JetStream into PostgreSQL"
    )
    env = os.environ.get
    sp.add_argument(
        "--nats", default=env("HALLCTL_COLLECT_NATS", "nats://127.0.0.1:4222"),
        help="comma-separated nats:// URLs of the cluster (env HALLCTL_COLLECT_NATS)",
    )
    sp.add_argument(
        "--pg", default=env("HALLCTL_COLLECT_PG"),
        help="postgresql://user@host:port/db, no password (env HALLCTL_COLLECT_PG)",
    )
    sp.add_argument("--pg-password-env", help="environment variable holding the password")
    sp.add_argument("--pg-password-file", type=Path, help="file holding the password")
    sp.add_argument("--stream", default="HALLCTL", help="the JetStream stream the halls publish to")
    sp.add_argument("--subjects", default="hallctl.>", help="subjects to collect")
    sp.add_argument("--durable", default="hallctl-collector", help="JetStream consumer name")
    sp.add_argument("--schema", default="hallctl", help="PostgreSQL schema")
    sp.add_argument("--batch", type=int, default=500, help="messages per transaction")
    sp.add_argument("--stats-every", type=float, default=10.0, help="seconds between stats logs")


def cmd_collect(args: argparse.Namespace) -> int:
    from hallctl.forward.collector import Collector, CollectorSettings
    from hallctl.forward.config import SecretError, read_secret
    from hallctl.logging import configure_logging

    if not args.pg:
        print("hallctl collect: --pg (or HALLCTL_COLLECT_PG) is required", file=sys.stderr)
        return 2
    if not 1 <= args.batch <= 10_000:
        print("hallctl collect: --batch must be 1..10000", file=sys.stderr)
        return 2
    try:
        password = read_secret(args.pg_password_env, args.pg_password_file, "--pg-password")
    except SecretError as exc:
        print(f"hallctl collect: {exc}", file=sys.stderr)
        return 2
    settings = CollectorSettings(
        servers=[u.strip() for u in args.nats.split(",") if u.strip()],
        dsn=args.pg,
        password=password,
        stream=args.stream,
        subjects=args.subjects,
        durable=args.durable,
        schema=args.schema,
        batch=args.batch,
    )
    configure_logging("info")
    asyncio.run(_run(Collector(settings), args.stats_every))
    return 0


async def _run(collector: Collector, stats_every: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(collector.run())
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(stats_every):
                await stop.wait()
        st = collector.stats
        log.info("collect.stats", written=st.written, repeats=st.repeats, position=st.position,
                 halls=len(st.halls), last_error=st.last_error)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
