"""Fixtures for loop tests that need a real ledger or a sandbox on a test clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from tests.fixtures.sandbox import SandboxHandle, api_client_for


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
