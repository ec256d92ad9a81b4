"""Real back-end servers for tests and benches: PostgreSQL (Debian's) and nats-server.

Each runs in a fresh temporary directory on a free loopback port and is stopped (and its
directory removed) by `close()`. PostgreSQL refuses to run as root, so as root the server
runs as the `postgres` user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from hallctl.broker import _free_port


class ServerError(RuntimeError):
    pass


def _pg_bin(tool: str) -> str:
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for directory in reversed(versions):
        if os.access(f"{directory}/{tool}", os.X_OK):
            return f"{directory}/{tool}"
    found = shutil.which(tool)
    if not found:
        raise ServerError(f"{tool} not found; install the postgresql package (scripts/test.sh)")
    return found


class PostgresServer:
    """A throwaway PostgreSQL cluster: trust auth for user `hallctl` on 127.0.0.1."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hallctl-pg-"))
        self.port = _free_port("127.0.0.1")
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: int | None = None
        if os.geteuid() == 0:
            self._user = pwd.getpwnam("postgres").pw_uid
            os.chown(self.dir, self._user, -1)
        self._run([_pg_bin("initdb"), "-D", str(self.dir / "data"), "-U", "hallctl",
                   "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])

    @property
    def dsn(self) -> str:
        return f"postgresql://hallctl@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://hallctl@127.0.0.1:{self.port}/{database}"

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, user=self._user, check=False)
        if done.returncode != 0:
            raise ServerError(f"{argv[0]} failed: {done.stderr.decode(errors='replace')}")

    def start(self, timeout: float = 20.0) -> None:
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [_pg_bin("postgres"), "-D", str(self.dir / "data"), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", "max_connections=200",
             # a crash of the process loses nothing without fsync (the page cache keeps it);
             # only power loss would, which no test simulates
             "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT, user=self._user,
        )
        log.close()
        deadline = time.monotonic() + timeout
        ready = _pg_bin("pg_isready")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"postgres exited: {self.log_tail()}")
            probe = subprocess.run(
                [ready, "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise ServerError(f"postgres not ready: {self.log_tail()}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT): what a restart by the operator does."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=30)
        self.proc = None

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            # the postmaster's children notice and exit; wait for the port to be free
            time.sleep(0.5)
        self.proc = None

    def log_tail(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def nats_server_path() -> str:
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/bin")
    if not found:
        raise ServerError("nats-server not found; install the nats-server package")
    return found


class NatsServer:
    """nats-server with JetStream; several of them with `cluster=` form a JetStream cluster."""

    def __init__(self, name: str = "n1", base: Path | None = None) -> None:
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"hallctl-nats-{name}-", dir=base))
        self.port = _free_port("127.0.0.1")
        self.cluster_port = _free_port("127.0.0.1")
        self.routes: list[int] = []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        argv = [nats_server_path(), "-a", "127.0.0.1", "-p", str(self.port), "-js",
                "-sd", str(self.dir / "js"), "-n", self.name]
        if self.routes:
            argv += ["--cluster_name", "hallctl-city",
                     "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                     "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"nats-server exited: {self.log_tail()}")
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            time.sleep(0.05)
        raise ServerError(f"nats-server not ready: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def nats_cluster(size: int = 3) -> list[NatsServer]:
    """`size` nodes routed to each other (JetStream clustering needs 3 for a quorum)."""
    nodes = [NatsServer(f"n{i + 1}") for i in range(size)]
    for node in nodes:
        node.routes = [other.cluster_port for other in nodes if other is not node]
    for node in nodes:
        node.start()
    return nodes
