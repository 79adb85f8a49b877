"""Issue 14 case 1: a managed stop made by another process is held by the running leader.

Mon 2030-04-08, Berlin, from 07:50 at 20x, on a KServe 0.14 sandbox (no native stop, so
the stop is reclaimer's managed one: autoscalerClass external, Deployments at 0, our own
``Stopped`` condition). The service is already ticking when ``reclaimer stop`` (another
process) stops ``team-a/dev``; then a status rewrite drops our condition, as an old
KServe does. The running service must write the condition again, book no external
start, and the 08:00 start edge must really start the model.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kubesandbox import types
from reclaimer.executor import isvc_state as st
from reclaimer.kube import rest
from reclaimer.kube.client import load_api_client
from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, ServiceRef, Trigger
from tests.e2e.harness import berlin, held, wait_for
from tests.e2e.policies import office_hours
from tests.e2e.stage import Stage, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(150)]

START = berlin(2030, 4, 8, 7, 50)
START_EDGE = berlin(2030, 4, 8, 8, 0)
DEV = ServiceRef("team-a", "dev")
CLASS = "serving.kserve.io/autoscalerClass"


@dataclass(frozen=True)
class Run:
    reasserted: bool
    rows_before_edge: list[TransitionRecord]
    rows: list[TransitionRecord]
    replicas_after_edge: int
    class_after_edge: str | None


def reclaimer_stop(stage_: Stage) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reclaimer", "stop", str(DEV), "--db", stage_.database,
         "--kubeconfig", str(stage_.kubeconfig), "--actor", "alice", "--no-wait"],
        capture_output=True, text=True, timeout=60, check=False, cwd=stage_.workdir,
        env=stage_.env())
    assert done.returncode == 0, done.stdout + done.stderr


def drop_stopped_condition(stage_: Stage) -> None:
    """What an old KServe's status rewrite looks like: our condition gone."""
    client = rest.Rest(load_api_client(str(stage_.kubeconfig)))
    obj = stage_.isvc(DEV)
    kept = [c for c in st.conditions(obj) if c.get("type") != "Stopped"]
    client.merge_patch(rest.ISVC, DEV.namespace, DEV.name, {"status": {"conditions": kept}},
                       subresource="status")


def replicas(stage_: Stage) -> int:
    deployment: dict[str, Any] = stage_.world.store.get(
        types.DEPLOYMENTS, DEV.namespace, f"{DEV.name}-predictor")
    return int(deployment["spec"].get("replicas") or 0)


def annotations(stage_: Stage) -> dict[str, str]:
    return dict(stage_.isvc(DEV)["metadata"].get("annotations") or {})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=20.0)
    with stage(tmp_path_factory.mktemp("held-stops"), template_db, timeline=timeline,
               services={DEV: {"tier": "dev"}}, kserve="0.14",
               policies={"office-hours.yaml": office_hours(busy_at_stop="force")}) as st_:
        child = st_.start()
        child.wait_ticking(timeout=30)
        reclaimer_stop(st_)
        wait_for(lambda: st.own_stopped(st_.isvc(DEV)) and replicas(st_) == 0, timeout=20,
                 what="the managed stop by `reclaimer stop`")
        drop_stopped_condition(st_)
        assert not st.own_stopped(st_.isvc(DEV))
        try:
            wait_for(lambda: st.own_stopped(st_.isvc(DEV)), timeout=10,
                     what="the Stopped condition written again")
            reasserted = True
        except AssertionError:
            reasserted = False
        assert timeline.now() < START_EDGE, "the steps took past the start edge"
        before = st_.rows(DEV)
        timeline.wait_until(START_EDGE + timedelta(minutes=2), timeout=60)
        wait_for(lambda: replicas(st_) > 0 or timeline.now() > START_EDGE + timedelta(
            minutes=10), timeout=40, what="the start edge")
        child.check_alive()
        yield Run(reasserted=reasserted, rows_before_edge=before, rows=st_.rows(DEV),
                  replicas_after_edge=replicas(st_),
                  class_after_edge=annotations(st_).get(CLASS))


def test_case_1_a_cli_managed_stop_has_its_condition_written_again(run: Run) -> None:
    assert run.reasserted


def test_case_1_no_external_start_is_booked_for_a_held_stop(run: Run) -> None:
    assert [r for r in run.rows if r.trigger is Trigger.EXTERNAL] == []


def test_case_1_the_start_edge_really_starts_a_stop_made_by_the_cli(run: Run) -> None:
    acted = [(r.action, r.trigger, r.actor == "alice") for r in run.rows if not r.blocked]
    assert acted == [(Action.STOP, Trigger.MANUAL, True),
                     (Action.START, Trigger.SCHEDULE, False)]
    assert (run.replicas_after_edge, run.class_after_edge) == (1, None)
