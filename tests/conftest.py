"""Shared fixtures: real Mosquitto brokers and short temporary directories for UNIX sockets.

``mosquitto``            a running broker with default options (anonymous, plain TCP), per test.
``mosquitto_factory``    ``mosquitto_factory(password_users=..., tls=..., acl_file=...)`` starts a
                         broker with those options; every broker made is closed after the test.
``journal``              a fresh journal in ``tmp_path`` (``journal.db``), closed after the test.
``short_tmp_path``       a fresh directory with a short path: UNIX socket paths must fit in 107
                         bytes, which pytest's ``tmp_path`` often does not.

When a test fails, the logs of the brokers it used are printed with the failure report.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from hallctl.broker import Mosquitto
from hallctl.journal import Journal

_BROKERS = pytest.StashKey[list[Mosquitto]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # A failing broker test is hard to read without the broker's side of the story.
    if report.failed:
        for broker in item.stash.get(_BROKERS, []):
            report.sections.append((f"{broker!r} log", broker.log_text()))
    return report


class MosquittoFactory(Protocol):
    def __call__(self, **options: Any) -> Mosquitto: ...


@pytest.fixture
def mosquitto_factory(request: pytest.FixtureRequest) -> Iterator[MosquittoFactory]:
    brokers: list[Mosquitto] = []
    request.node.stash[_BROKERS] = brokers

    def make(**options: Any) -> Mosquitto:
        broker = Mosquitto(**options)
        brokers.append(broker)
        broker.start()
        return broker

    yield make

    for broker in brokers:
        broker.close()


@pytest.fixture
def mosquitto(mosquitto_factory: MosquittoFactory) -> Mosquitto:
    return mosquitto_factory()


@pytest.fixture
def short_tmp_path() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# Real PostgreSQL and nats-server fixtures for the back-end sink tests (docs/backends.md).
pytest_plugins = ["tests.backend_fixtures"]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.db") as j:
        yield j
