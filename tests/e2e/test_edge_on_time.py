"""At real speed, a schedule edge lands on time; an invalid policy file beside the valid
one is logged and exported while the valid one keeps working.

The child starts on a timeline held at two seconds before Wed 2030-04-10 19:00 Berlin,
then running at real speed. The test watches the sandbox's store directly (no API round
trip) and notes the shared timeline's instant when the stop annotation first appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubesandbox import types
from reclaimer.kserve import STOP_ANNOTATION
from reclaimer.model import Action, ServiceRef, Trigger
from tests.e2e.harness import Child, berlin, edge_of, held, wait_for
from tests.e2e.policies import BROKEN, office_hours, quiet
from tests.e2e.stage import Stage, prometheus_data, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(120)]

EDGE = berlin(2030, 4, 10, 19, 0)
DEV = ServiceRef("team-a", "llama")


@dataclass(frozen=True)
class Run:
    landed_at: datetime
    metrics: dict[str, float]
    logs: list[dict[str, Any]]
    stage: Stage


def _landed(stage_: Stage) -> datetime | None:
    obj = stage_.world.store.peek(types.INFERENCESERVICES, DEV.namespace, DEV.name)
    annotations = obj["metadata"].get("annotations") or {}
    return stage_.timeline.now() if annotations.get(STOP_ANNOTATION) == "true" else None


def _until_stopped(child: Child, stage_: Stage) -> datetime:
    def probe() -> datetime | None:
        child.check_alive()
        return _landed(stage_)
    return wait_for(probe, timeout=40, what="the 19:00 stop annotation", poll=0.005)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(EDGE - timedelta(seconds=2), speed=1.0)
    data = prometheus_data({DEV: quiet(EDGE - timedelta(hours=2))},
                           start=EDGE - timedelta(hours=2), end=EDGE + timedelta(hours=1))
    with stage(tmp_path_factory.mktemp("edge-on-time"), template_db, timeline=timeline,
               services={DEV: {"tier": "dev"}},
               policies={"office-hours.yaml": office_hours(), "broken.yaml": BROKEN},
               metrics=data) as stage_:
        child = stage_.start()
        child.wait_ticking(timeout=30)
        assert timeline.now() < EDGE, "the child started too late to observe the edge"
        landed = _until_stopped(child, stage_)
        wait_for(lambda: child.metric("reclaimer_edge_lateness_seconds_count") >= 1,
                 timeout=20, what="the lateness histogram")
        yield Run(landed_at=landed, metrics=child.metrics(), logs=child.log_lines(),
                  stage=stage_)


def test_the_first_annotation_lands_within_a_second_of_the_edge(run: Run) -> None:
    assert EDGE <= run.landed_at <= EDGE + timedelta(seconds=1)


def test_edge_lateness_is_exported_below_a_second(run: Run) -> None:
    count = run.metrics["reclaimer_edge_lateness_seconds_count"]
    assert count == 1
    assert run.metrics["reclaimer_edge_lateness_seconds_sum"] < 1.0


def test_the_valid_policy_applies_its_edge(run: Run) -> None:
    stops = [r for r in run.stage.rows(DEV) if r.action is Action.STOP and not r.blocked]
    assert [(r.policy, edge_of(r), r.trigger) for r in stops] == [
        ("office-hours", EDGE, Trigger.SCHEDULE)]


def test_the_invalid_policy_is_exported_as_a_metric(run: Run) -> None:
    assert run.metrics["reclaimer_policies_invalid"] == 1


def test_the_invalid_policy_is_logged_naming_file_and_field(run: Run) -> None:
    lines = [line for line in run.logs if "broken.yaml" in str(line)]
    assert lines, "no JSON log line names broken.yaml"
    assert "spec.idle.after" in str(lines[0])
