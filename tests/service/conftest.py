"""Fixtures for loop tests that need a real ledger or a sandbox on a test clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from reclaimer.ledger import Ledger, open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from tests.fixtures.sandbox import SandboxHandle, api_client_for


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres-15")])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A migrated SQLite file or PostgreSQL 15 database: the ledger as the service runs it."""
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    upgrade(parse_url(url))
    ledger = open_ledger(url)
    yield ledger
    ledger.close()


@dataclass
class SandboxClock:
    """The sandbox's clock (object times, managedFields ``time``), set by the test."""

    at: datetime

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clocked_sandbox() -> Iterator[object]:
    """``factory(scenario, clock)``: a sandbox whose objects are dated by ``clock``."""
    handles: list[SandboxHandle] = []

    def factory(scenario: dict[str, object], clock: SandboxClock) -> SandboxHandle:
        from kubesandbox.world import World  # noqa: PLC0415 - as tests.fixtures.sandbox

        world = World.start(port=0, scenario=scenario, clock=clock.now)
        handle = SandboxHandle(world=world, api_client=api_client_for(world.url))
        handles.append(handle)
        return handle

    yield factory
    for handle in handles:
        handle.close()
