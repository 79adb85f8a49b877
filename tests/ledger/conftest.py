"""One `ledger` fixture over the three stores the contract suite must hold for."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from reclaimer.ledger import Ledger, MemoryLedger, SqlLedger, open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from tests.fixtures.failing_ledger import FailingLedger


def migrated(url: str) -> Ledger:
    upgrade(parse_url(url))
    return open_ledger(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=[
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite-file"),
    pytest.param("failing", id="sqlite-failing-unarmed"),
    pytest.param("postgres", id="postgres-15", marks=pytest.mark.integration),
])
def ledger(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Ledger]:
    store: Ledger
    if request.param == "memory":
        store = MemoryLedger()
    elif request.param == "sqlite":
        store = migrated(sqlite_url)
    elif request.param == "failing":
        upgrade(parse_url(sqlite_url))
        store = FailingLedger.open(sqlite_url)
    else:
        store = migrated(request.getfixturevalue("postgres_url"))
    yield store
    store.close()


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[tuple[SqlLedger, SqlLedger]]:
    """Two replicas' ledgers on one migrated PostgreSQL 15 database."""
    first, second = migrated(postgres_url), SqlLedger.open(postgres_url)
    assert isinstance(first, SqlLedger)
    yield first, second
    first.close()
    second.close()
