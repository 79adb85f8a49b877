"""Issue 13 case 10 against the sandbox over HTTP and a real ledger: idle verdicts that
appear a few at a time, tick after tick, trip the mass-idle breaker together."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.kserve import STOP_ANNOTATION
from reclaimer.kube.rest import ISVC
from reclaimer.ledger import Ledger
from reclaimer.model import DecideSettings, ServiceRef
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import FRIDAY_STOP, IDLE, build, busy_until, scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
T = FRIDAY_STOP + timedelta(hours=3)
FIRST = [ServiceRef("team-b", f"a{i}") for i in range(3)]
SECOND = [ServiceRef("team-b", f"b{i}") for i in range(3)]


def test_case10_idle_verdicts_across_ticks_trip_the_breaker(
        make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> None:
    services = scenario(*((r.namespace, r.name, {"reclaim": "idle"}) for r in FIRST + SECOND))
    scripts = {**{r: busy_until(T - timedelta(minutes=31)) for r in FIRST},
               **{r: busy_until(T - timedelta(minutes=26)) for r in SECOND}}
    world = build(make_sandbox(services), tmp_path, policies={"idle": IDLE}, scripts=scripts,
                  decide=DecideSettings(mass_idle_minimum=4, mass_idle_fraction=0.5),
                  ledger=store)
    try:
        first = world.tick(T)
        second = world.tick(T + timedelta(minutes=5))
        stopped = [r for r in FIRST + SECOND
                   if (world.rest.get(ISVC, r.namespace, r.name)["metadata"].get("annotations")
                       or {}).get(STOP_ANNOTATION) == "true"]
    finally:
        world.close()
    assert (first.plan.breaker_open, second.plan.breaker_open) == (False, True)
    assert stopped == FIRST
