"""What a tick freed goes back to the system: after the evaluation and at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from reclaimer.model import ServiceRef
from reclaimer.service import memory
from reclaimer.service.loop import Reconciler
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import FRIDAY_STOP, OFFICE_HOURS, build, quiet, scenario

pytestmark = pytest.mark.timeout(90)
LLAMA = ServiceRef("team-a", "llama")


def test_release_trims_on_glibc() -> None:
    assert memory.release() is True


@pytest.mark.integration
def test_a_tick_releases_memory_twice(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()})
    released: list[None] = []
    reconciler = Reconciler(world.reconciler.parts, settings=world.reconciler.settings,
                            release_memory=lambda: released.append(None))
    try:
        for minutes in (0, 1):
            reconciler.reconcile_once(FRIDAY_STOP.replace(minute=minutes))
    finally:
        reconciler.close()
        world.close()
    assert len(released) == 4
