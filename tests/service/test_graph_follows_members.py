"""An InferenceGraph under an idle rule follows its member through the whole loop, on the
sandbox's KServe 0.17 (issue 15 item 2, docs/design.md §3 rule 8): office hours stop the
member ``llama`` on Friday evening, the graph follows a tick later; on Monday morning the
graph starts in the same tick as ``llama``, ahead of it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.model import Action, ServiceKind, ServiceRef, ServiceState
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    FRIDAY_STOP,
    MONDAY_START,
    OFFICE_HOURS,
    build,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
ISVC = ServiceRef("team-a", "llama")
GRAPH = ServiceRef("team-a", "pipeline", ServiceKind.INFERENCE_GRAPH)
GRAPHS_IDLE = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: graphs}
spec:
  selector:
    kinds: [InferenceGraph]
    matchLabels: {reclaim: with-members}
  idle: {after: 30m}
"""


def _graph() -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
            "metadata": {"name": "pipeline", "namespace": "team-a",
                         "labels": {"reclaim": "with-members"},
                         "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
            "spec": {"nodes": {"root": {"routerType": "Sequence",
                                        "steps": [{"serviceName": "llama"}]}}}}


def test_the_graph_stops_after_its_member_and_starts_before_it(
        make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    world_scenario = {**scenario(("team-a", "llama", {"tier": "dev"})), "kserve": "0.17",
                      "objects": [_graph()]}
    world = build(make_sandbox(world_scenario), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}, "graphs": GRAPHS_IDLE},
                  scripts={ISVC: quiet()})
    try:
        friday = [world.tick(FRIDAY_STOP + timedelta(minutes=m)) for m in (0, 1)]
        stopped = {s.ref: s.state for s in world.inventory.snapshot()}
        monday = world.tick(MONDAY_START)
        world.tick(MONDAY_START + timedelta(minutes=1))
        started = {s.ref: s.state for s in world.inventory.snapshot()}
    finally:
        world.close()
    acted = [[(t.ref, t.action) for t in tick.plan.actionable] for tick in (*friday, monday)]
    assert acted == [[(ISVC, Action.STOP)], [(GRAPH, Action.STOP)],
                     [(GRAPH, Action.START), (ISVC, Action.START)]]
    assert (stopped, started) == ({ISVC: ServiceState.STOPPED, GRAPH: ServiceState.STOPPED},
                                  {ISVC: ServiceState.RUNNING, GRAPH: ServiceState.RUNNING})
