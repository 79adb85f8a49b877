"""Office hours across the spring-forward weekend, in one sped-up run.

Europe/Berlin leaves CET (+01:00) for CEST (+02:00) on Sun 2030-03-31. The child runs
from Fri 18:30 CET to Mon 08:30 CEST at 9000x (about half a minute). Office hours
08:00-19:00 on weekdays must stop the dev model at Fri 19:00 CET (18:00 UTC), leave it
alone all weekend, and start it at Mon 08:00 CEST (06:00 UTC); a prod model that no
policy selects is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, ServiceRef
from tests.e2e.harness import berlin, edge_of, held, wait_for
from tests.e2e.policies import office_hours, quiet
from tests.e2e.stage import Stage, prometheus_data, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(150)]

BERLIN = ZoneInfo("Europe/Berlin")
SPEED = 9000.0
START = berlin(2030, 3, 29, 18, 30)
FRIDAY_STOP = berlin(2030, 3, 29, 19, 0)
MONDAY_START = berlin(2030, 4, 1, 8, 0)
# At 9000x a tick is 2.5 simulated hours, and 400 ms of scheduling delay or of waiting
# for a tick in flight is one hour: "on time" here means by the wake job, not the next
# tick. test_edge_on_time measures lateness at real speed.
ON_TIME = timedelta(hours=1)
DEV = ServiceRef("team-a", "llama")
PROD = ServiceRef("team-a", "mistral")


@dataclass(frozen=True)
class Run:
    rows: list[TransitionRecord]
    final: dict[str, Any]
    prod_rows: list[TransitionRecord]
    metrics: dict[str, float]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=SPEED, lead=12.0)  # 30 min before the edge is 0.2 s
    since = START - timedelta(hours=2)
    data = prometheus_data({DEV: quiet(since), PROD: quiet(since)}, start=since,
                           end=FRIDAY_STOP + timedelta(hours=2))
    with stage(tmp_path_factory.mktemp("office-hours"), template_db, timeline=timeline,
               services={DEV: {"tier": "dev"}, PROD: {"tier": "prod"}},
               policies={"office-hours.yaml": office_hours()}, metrics=data) as stage_:
        child = stage_.start()
        first_tick = child.wait_ticking(timeout=30)
        assert first_tick < FRIDAY_STOP, "child started too late"
        timeline.wait_until(MONDAY_START + timedelta(minutes=30), timeout=90)
        wait_for(lambda: _started(stage_), timeout=30, what="the Monday start")
        child.check_alive()
        yield Run(rows=_acted(stage_, DEV), final=stage_.isvc(DEV),
                  prod_rows=stage_.rows(PROD), metrics=child.metrics())


def _acted(stage_: Stage, ref: ServiceRef) -> list[TransitionRecord]:
    return [r for r in stage_.rows(ref) if not r.transition.blocked]


def _started(stage_: Stage) -> bool:
    return any(r.transition.action is Action.START for r in _acted(stage_, DEV))


def test_exactly_one_stop_and_one_start_across_the_weekend(run: Run) -> None:
    assert [(r.transition.action, edge_of(r)) for r in run.rows] == [
        (Action.STOP, FRIDAY_STOP), (Action.START, MONDAY_START)]


@pytest.mark.parametrize(("index", "local", "offset"), [
    pytest.param(0, "2030-03-29T19:00:00", "+01:00", id="friday-stop-cet"),
    pytest.param(1, "2030-04-01T08:00:00", "+02:00", id="monday-start-cest"),
])
def test_edges_are_at_local_office_hours_on_both_sides_of_dst(
        run: Run, index: int, local: str, offset: str) -> None:
    edge = edge_of(run.rows[index])
    assert edge is not None
    shown = edge.astimezone(BERLIN)
    assert (shown.isoformat()[:19], shown.isoformat()[19:]) == (local, offset)


@pytest.mark.parametrize("index", [pytest.param(0, id="stop"), pytest.param(1, id="start")])
def test_each_edge_is_acted_on_at_its_instant(run: Run, index: int) -> None:
    row = run.rows[index]
    edge = edge_of(row)
    assert edge is not None and edge <= row.transition.at <= edge + ON_TIME


def test_the_model_runs_again_on_monday(run: Run) -> None:
    annotations = run.final["metadata"].get("annotations") or {}
    assert annotations.get("serving.kserve.io/stop", "false").lower() != "true"


def test_a_model_no_policy_selects_is_never_touched(run: Run) -> None:
    assert run.prod_rows == []


@pytest.mark.parametrize("action", ["stop", "start"])
def test_metrics_count_each_applied_edge_transition_once(run: Run, action: str) -> None:
    """An edge acted on more than 5 simulated minutes late is a catch-up; at 9000x that
    is 33 ms of real time, which a loaded host's wake job can exceed. Either way it is
    one applied edge transition, counted once."""
    names = [f'reclaimer_transitions_total{{action="{action}",outcome="applied",'
             f'trigger="{trigger}"}}' for trigger in ("schedule", "catch-up")]
    assert sum(run.metrics.get(name, 0.0) for name in names) == 1
