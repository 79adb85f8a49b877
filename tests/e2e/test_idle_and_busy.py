"""Signals from a real Prometheus drive idle stops and deferrals, in one sped-up run.

Wed 2030-04-03, Berlin, from 18:45 to 19:50 at 360x (about 11 s). Backfilled
exporter series (knative queue-proxy counter, dcgm GPU utilisation, kube-state-metrics)
describe three models:

- ``team-b/quiet``: no requests, idle GPU: stopped once idle for 30 minutes;
- ``team-b/busy``: a request a minute and 50 % GPU throughout: never idle-stopped;
- ``team-a/late``: busy until 19:20, under office hours with ``busyAtStop: defer``: the
  19:00 stop is deferred, then applied once the traffic has stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, Reason, ServiceRef, Trigger
from tests.e2e.harness import berlin, edge_of, held, wait_for
from tests.e2e.policies import IDLE, busy, office_hours, quiet
from tests.e2e.stage import Stage, prometheus_data, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(120)]

START = berlin(2030, 4, 3, 18, 45)
STOP_EDGE = berlin(2030, 4, 3, 19, 0)
TRAFFIC_ENDS = berlin(2030, 4, 3, 19, 20)
END = berlin(2030, 4, 3, 19, 50)
DATA_FROM = berlin(2030, 4, 3, 16, 0)
QUIET = ServiceRef("team-b", "quiet")
BUSY = ServiceRef("team-b", "busy")
LATE = ServiceRef("team-a", "late")
# A tick is 6 simulated minutes at 360x; "busy" looks back 5 minutes.
TICK = timedelta(minutes=6)


@dataclass(frozen=True)
class Run:
    rows: dict[ServiceRef, list[TransitionRecord]]
    annotations: dict[ServiceRef, str | None]
    decisions: list[dict[str, Any]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=360.0)
    scripts = {QUIET: quiet(DATA_FROM), BUSY: busy(DATA_FROM, until=END + timedelta(hours=1)),
               LATE: busy(DATA_FROM, until=TRAFFIC_ENDS)}
    data = prometheus_data(scripts, start=DATA_FROM, end=END + timedelta(minutes=30))
    with stage(tmp_path_factory.mktemp("idle-busy"), template_db, timeline=timeline,
               services={QUIET: {"reclaim": "idle"}, BUSY: {"reclaim": "idle"},
                         LATE: {"tier": "dev"}},
               policies={"idle.yaml": IDLE, "office-hours.yaml": office_hours()},
               metrics=data) as stage_:
        child = stage_.start()
        child.wait_ticking(timeout=30)
        assert timeline.now() < STOP_EDGE - TICK, "child started too late"
        timeline.wait_until(END, timeout=60)
        wait_for(lambda: _stopped(stage_, LATE), timeout=20, what="the deferred stop")
        child.check_alive()
        refs = (QUIET, BUSY, LATE)
        yield Run(rows={ref: stage_.rows(ref) for ref in refs},
                  annotations={ref: stage_.stop_annotation(ref) for ref in refs},
                  decisions=[line for line in child.log_lines()
                             if line.get("message") == "decision"])


def _stopped(stage_: Stage, ref: ServiceRef) -> bool:
    return any(r.transition.action is Action.STOP and not r.transition.blocked
               for r in stage_.rows(ref))


def _acted(rows: list[TransitionRecord]) -> list[TransitionRecord]:
    return [r for r in rows if not r.transition.blocked]


def test_the_idle_model_is_stopped_after_thirty_idle_minutes(run: Run) -> None:
    [stop] = _acted(run.rows[QUIET])
    t = stop.transition
    assert (t.action, t.trigger, t.reason) == (Action.STOP, Trigger.IDLE, Reason.IDLE_TIMEOUT)
    assert START + timedelta(minutes=30) <= t.at <= START + timedelta(minutes=30) + 2 * TICK


def test_the_idle_stop_carries_its_evidence(run: Run) -> None:
    [stop] = _acted(run.rows[QUIET])
    assert stop.transition.evidence, "an idle stop must say what it saw"


def test_the_model_with_traffic_is_not_stopped(run: Run) -> None:
    assert (run.rows[BUSY], run.annotations[BUSY]) == ([], None)


def test_the_busy_model_is_deferred_at_the_stop_edge(run: Run) -> None:
    first = run.rows[LATE][0]
    assert (first.transition.action, first.transition.reason,
            first.transition.blocked is not None) == (
        Action.STOP, Reason.DEFERRED_BUSY, True)
    assert STOP_EDGE <= first.transition.at < TRAFFIC_ENDS


def test_the_deferred_stop_is_applied_once_the_traffic_stops(run: Run) -> None:
    [stop] = _acted(run.rows[LATE])
    assert (stop.transition.action, edge_of(stop)) == (Action.STOP, STOP_EDGE)
    assert TRAFFIC_ENDS <= stop.transition.at <= TRAFFIC_ENDS + timedelta(minutes=5) + 2 * TICK
    assert run.annotations[LATE] == "true"


def test_the_idle_stop_is_one_json_log_line_with_reason_and_evidence(run: Run) -> None:
    lines = [d for d in run.decisions if d.get("service") == str(QUIET)]
    assert [(d["action"], d["reason"]) for d in lines] == [("stop", "IdleTimeout")]
    assert lines[0]["outcome"] in ("applied", "verified")  # verified when pods go at once
    assert lines[0]["evidence"]
