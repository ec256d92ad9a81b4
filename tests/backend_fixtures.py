"""Fixtures for back-end tests: one real PostgreSQL per test session (a fresh database per test)
and a real nats-server with JetStream per test."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator

import pytest

from tests.backend_servers import NatsServer, PostgresServer, _pg_bin

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> str:
    """A new, empty database on the session's server."""
    name = f"t{next(_databases)}"
    subprocess.run(
        [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(postgres_server.port),
         "-U", "hallctl", name],
        check=True, capture_output=True,
    )
    return postgres_server.dsn_for(name)


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    try:
        server.start()
        yield server
    finally:
        server.close()
