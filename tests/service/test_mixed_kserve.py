"""A schedule stop and start on a mixed KServe 0.15 cluster (issue 15, item 1).

On 0.15.1/0.15.2 only Knative predictors stop natively and carry KServe's ``Stopped``
condition; a Raw ISVC given the annotation just rolls its pods, and a transformer keeps
running. The strategy is chosen per ISVC, so every selected ISVC's GPUs are free after
the stop and every one is Ready after the start.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.kube.rest import ISVC, POD
from reclaimer.model import ServiceRef
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    FRIDAY_STOP,
    MONDAY_START,
    OFFICE_HOURS,
    LoopWorld,
    build,
    quiet,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
NS = "team-a"
ISVCS = [{"name": "chat", "mode": "Knative"}, {"name": "embed", "mode": "Standard"},
         {"name": "rerank", "mode": "Knative", "transformer": True}]


def mixed(kserve: str, **extra: Any) -> dict[str, Any]:
    return {"kserve": kserve, "podTerminationSeconds": 0, "namespaces": [NS],
            "inferenceServices": [{"namespace": NS, "gpus": 1, "labels": {"tier": "dev"},
                                   **entry} for entry in ISVCS], **extra}


@pytest.fixture(params=[pytest.param({}, id="version-read-from-the-controller"),
                        pytest.param({"kserveControllerImage": ""},
                                     id="version-unknown")])
def world015(request: pytest.FixtureRequest, make_sandbox: MakeSandbox,
             tmp_path: Path) -> Iterator[LoopWorld]:
    sandbox = make_sandbox(mixed("0.15", **request.param))
    world = build(sandbox, tmp_path, policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={ServiceRef(NS, e["name"]): quiet() for e in ISVCS})
    yield world
    world.close()


def _live_pods(world: LoopWorld) -> dict[str, int]:
    counts = dict.fromkeys((e["name"] for e in ISVCS), 0)
    for pod in world.rest.list(POD, NS)["items"]:
        owner = (pod["metadata"].get("labels") or {}).get("serving.kserve.io/inferenceservice")
        if owner in counts and not pod["metadata"].get("deletionTimestamp"):
            counts[owner] += 1
    return counts


def _ready(world: LoopWorld) -> dict[str, str]:
    out = {}
    for entry in ISVCS:
        conds = world.rest.get(ISVC, NS, entry["name"])["status"].get("conditions") or []
        out[entry["name"]] = next((c["status"] for c in conds if c["type"] == "Ready"), "-")
    return out


def test_a_schedule_stop_frees_every_selected_isvcs_gpus(world015: LoopWorld) -> None:
    world015.tick(FRIDAY_STOP)
    world015.tick(FRIDAY_STOP + timedelta(minutes=1))
    assert _live_pods(world015) == {"chat": 0, "embed": 0, "rerank": 0}
    verified = {r.transition.ref.name for r in world015.ledger.history()
                if r.state.value == "verified"}
    assert verified == {"chat", "embed", "rerank"}


def test_the_start_makes_every_one_ready(world015: LoopWorld) -> None:
    world015.tick(FRIDAY_STOP)
    world015.tick(FRIDAY_STOP + timedelta(minutes=1))
    world015.tick(MONDAY_START)
    world015.tick(MONDAY_START + timedelta(minutes=1))
    assert _ready(world015) == {"chat": "True", "embed": "True", "rerank": "True"}
    assert _live_pods(world015) == {"chat": 1, "embed": 1, "rerank": 2}
