"""A user starts a stopped model by hand with the real kubectl; reclaimer respects it.

Mon 2030-04-08, Berlin, from 18:50 at 1200x (about 13 s). The policy keeps dev models
up 08:00-19:00 and 22:00-23:00. At 19:00 reclaimer stops ``team-a/dev``; at 21:00 a
user runs ``kubectl annotate isvc dev serving.kserve.io/stop=false --overwrite``. The
ledger must record an ``external`` start by the field manager ``kubectl-annotate``; the
model must stay up until the next stop edge, 23:00, which stops it again. A second model,
``team-a/dev2``, is started at the same time by removing the annotation
(``kubectl annotate ... serving.kserve.io/stop-``), which leaves no field manager behind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.kserve import STOP_ANNOTATION
from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, ServiceRef, Trigger
from tests.e2e.harness import berlin, edge_of, held, wait_for
from tests.e2e.policies import EVENINGS
from tests.e2e.stage import Stage, stage

KUBECTL = shutil.which("kubectl")
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(120),
              pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")]

START = berlin(2030, 4, 8, 18, 50)
FIRST_STOP = berlin(2030, 4, 8, 19, 0)
BY_HAND = berlin(2030, 4, 8, 21, 0)
NEXT_STOP = berlin(2030, 4, 8, 23, 0)
DEV = ServiceRef("team-a", "dev")
DEV2 = ServiceRef("team-a", "dev2")
# A tick is 20 simulated minutes at 1200x; the change is observed at the first tick after
# kubectl returns (kubectl itself takes simulated minutes, more when the machine is loaded,
# so the bound is taken from when it returned, not from when it was started).
TICK = timedelta(minutes=20)


@dataclass(frozen=True)
class Run:
    rows: list[TransitionRecord]
    before_next_stop: str | None
    after_next_stop: str | None
    cli_history: list[dict[str, Any]]
    removed_rows: list[TransitionRecord]
    removed_before_next_stop: str | None
    by_hand_done: datetime


def kubectl(stage_: Stage, *args: str) -> None:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(stage_.kubeconfig), "--cache-dir",
         str(stage_.workdir / "kube-cache"), "-n", DEV.namespace, *args],
        capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def cli_history(stage_: Stage) -> list[dict[str, Any]]:
    """What an operator sees: ``reclaimer history --trigger external -o json``."""
    done = subprocess.run(
        [sys.executable, "-m", "reclaimer", "history", "--db", stage_.database,
         "--trigger", "external", "-o", "json"], capture_output=True, text=True,
        timeout=60, check=True, cwd=stage_.workdir, env=stage_.env())
    items: list[dict[str, Any]] = json.loads(done.stdout)
    return items


def _acted(stage_: Stage, ref: ServiceRef = DEV) -> list[TransitionRecord]:
    return [r for r in stage_.rows(ref) if not r.transition.blocked]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=1200.0)
    with stage(tmp_path_factory.mktemp("manual-start"), template_db, timeline=timeline,
               services={DEV: {"tier": "dev"}, DEV2: {"tier": "dev"}},
               policies={"evenings.yaml": EVENINGS}) as st:
        child = st.start()
        child.wait_ticking(timeout=30)
        assert timeline.now() < FIRST_STOP, "child started too late"
        wait_for(lambda: st.stop_annotation(DEV) == st.stop_annotation(DEV2) == "true",
                 timeout=30, what="the 19:00 stops")
        timeline.wait_until(BY_HAND, timeout=30)
        kubectl(st, "annotate", "isvc", DEV.name, f"{STOP_ANNOTATION}=false", "--overwrite")
        kubectl(st, "annotate", "isvc", DEV2.name, f"{STOP_ANNOTATION}-")
        by_hand_done = timeline.now()
        timeline.wait_until(NEXT_STOP - timedelta(minutes=10), timeout=30)
        before = (st.stop_annotation(DEV), st.stop_annotation(DEV2))
        wait_for(lambda: len(_acted(st)) >= 3 and len(_acted(st, DEV2)) >= 3, timeout=30,
                 what="the 23:00 stops")
        child.check_alive()
        yield Run(rows=_acted(st), before_next_stop=before[0],
                  after_next_stop=st.stop_annotation(DEV), cli_history=cli_history(st),
                  removed_rows=_acted(st, DEV2), removed_before_next_stop=before[1],
                  by_hand_done=by_hand_done)


def test_the_hand_start_is_recorded_as_external_with_its_field_manager(run: Run) -> None:
    external = [r for r in run.rows if r.transition.trigger is Trigger.EXTERNAL]
    assert [(r.transition.action, r.transition.evidence.get("fieldManager")) for r in external] == [
        (Action.START, "kubectl-annotate")]


def test_the_hand_start_is_dated_when_the_user_made_it(run: Run) -> None:
    [external] = [r for r in run.rows if r.transition.trigger is Trigger.EXTERNAL]
    assert BY_HAND <= external.transition.at <= run.by_hand_done + 2 * TICK


def test_the_model_stays_up_until_the_next_stop_edge(run: Run) -> None:
    assert run.before_next_stop == "false"


def test_the_next_stop_edge_stops_it_again(run: Run) -> None:
    assert [(r.transition.action, r.transition.trigger, edge_of(r)) for r in run.rows] == [
        (Action.STOP, Trigger.SCHEDULE, FIRST_STOP),
        (Action.START, Trigger.EXTERNAL, None),
        (Action.STOP, Trigger.SCHEDULE, NEXT_STOP)]
    assert run.after_next_stop == "true"


def test_history_shows_the_hand_start_with_its_field_manager(run: Run) -> None:
    by_kubectl = [i for i in run.cli_history if i["name"] == "dev"]
    assert [(i["action"], i["evidence"].get("fieldManager")) for i in by_kubectl] == [
        ("start", "kubectl-annotate")]


def test_a_start_by_removing_the_annotation_is_recorded_without_a_manager(run: Run) -> None:
    external = [r for r in run.removed_rows if r.transition.trigger is Trigger.EXTERNAL]
    assert [(r.transition.action, r.transition.evidence.get("fieldManager")) for r in external] == [
        (Action.START, "unknown (annotation removed)")]


def test_a_start_by_removal_also_holds_until_the_next_stop_edge(run: Run) -> None:
    assert run.removed_before_next_stop is None
    assert [(r.transition.action, r.transition.trigger) for r in run.removed_rows] == [
        (Action.STOP, Trigger.SCHEDULE), (Action.START, Trigger.EXTERNAL),
        (Action.STOP, Trigger.SCHEDULE)]
