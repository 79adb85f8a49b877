"""What a tick freed goes back to the system: after the evaluation and at the end."""

from __future__ import annotations

import subprocess
import sys
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


TICK_LIKE = """
import gc, sys
from reclaimer.model import ServiceRef
from reclaimer.service import memory
from reclaimer.signals.answer import Row
if sys.argv[1] == "tuned":
    memory.tune_collector()
kept = [{"n": i} for i in range(300_000)]  # what lives across ticks: caches, modules
full: list[None] = []
gc.callbacks.append(lambda phase, info: full.append(None)
                    if phase == "start" and info["generation"] == 2 else None)
rows = [Row(ServiceRef("team", f"m{i}"), "requests", 1.0) for i in range(150_000)]
print(len(full))
"""


@pytest.mark.parametrize(("thresholds", "most", "least"), [
    pytest.param("default", None, 1, id="default"), pytest.param("tuned", 0, 0, id="tuned")])
def test_an_evaluations_rows_set_off_no_full_collection(thresholds: str, most: int | None,
                                                        least: int) -> None:
    """150,000 answer rows held while an evaluation is assembled, over 300,000 objects
    that live across ticks: with Python's thresholds they are promoted in bulk and set
    off collections of the whole heap; with `GC_THRESHOLDS` none (fresh interpreters,
    so the test process keeps its own settings)."""
    done = subprocess.run([sys.executable, "-c", TICK_LIKE, thresholds], check=True,
                          capture_output=True, text=True)
    collections = int(done.stdout.strip())
    assert collections >= least and (most is None or collections <= most)
