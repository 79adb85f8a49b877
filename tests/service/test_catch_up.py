"""Issue 13 case 3 against the sandbox over HTTP and a real ledger (SQLite, PostgreSQL 15).

After downtime a busy service gets its full ``maxDefer`` from the first tick that could
act, not an instant force-stop; a start edge caught up after downtime never wakes a
model that was stopped before reclaimer governed it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.kserve import STOP_ANNOTATION
from reclaimer.kube.rest import ISVC
from reclaimer.ledger import Ledger
from reclaimer.model import Reason, ServiceRef
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    FRIDAY_STOP,
    MONDAY_START,
    OFFICE_HOURS,
    LoopWorld,
    build,
    busy_until,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
LLAMA = ServiceRef("team-a", "llama")


def _annotation(world: LoopWorld) -> str | None:
    obj = world.rest.get(ISVC, LLAMA.namespace, LLAMA.name)
    return (obj["metadata"].get("annotations") or {}).get(STOP_ANNOTATION)


def test_case3_busy_service_after_downtime_gets_its_full_max_defer(
        make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> None:
    policy = OFFICE_HOURS % {"busy": "defer"}  # maxDefer: 1h
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": policy},
                  scripts={LLAMA: busy_until(FRIDAY_STOP + timedelta(hours=6))}, ledger=store)
    back = FRIDAY_STOP + timedelta(hours=2)  # reclaimer was down over the 19:00 edge
    try:
        seen = []
        for minutes in (0, 30, 59, 60):
            world.tick(back + timedelta(minutes=minutes))
            seen.append(_annotation(world))
        reasons = [r.transition.reason for r in reversed(world.ledger.history(name="llama"))]
    finally:
        world.close()
    assert seen == [None, None, None, "true"]
    assert reasons == [Reason.DEFERRED_BUSY, Reason.FORCED_AFTER_MAX_DEFER]


def test_case3_catch_up_start_leaves_a_model_parked_before_governance(
        make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> None:
    world_scenario = scenario(("team-a", "llama", {"tier": "dev"}))
    world_scenario["inferenceServices"][0]["annotations"] = {  # type: ignore[index]
        STOP_ANNOTATION: "true"}
    world = build(make_sandbox(world_scenario), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    try:
        for hours in (2, 3):  # first run on Monday at 10:00, the 08:00 start is past
            world.tick(MONDAY_START + timedelta(hours=hours))
    finally:
        world.close()
    assert _annotation(world) == "true"
