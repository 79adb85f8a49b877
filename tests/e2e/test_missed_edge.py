"""reclaimer is SIGKILLed before an edge and comes back after it: the edge is caught up
exactly once.

Fri 2030-04-05, Berlin, from 18:59 at 120x. The first child is killed (no shutdown
code runs) as soon as it has ticked, before the 19:00 stop; a second child starts once
the timeline is past 19:06, beyond the 5-minute catch-up threshold, and must apply the
19:00 edge once, as a catch-up. A third child, after the second exits on SIGTERM, must
not apply it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, ServiceRef, Trigger
from tests.e2e.harness import berlin, edge_of, held, wait_for
from tests.e2e.policies import office_hours
from tests.e2e.stage import Stage, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(120)]

START = berlin(2030, 4, 5, 18, 59)
STOP_EDGE = berlin(2030, 4, 5, 19, 0)
RESTART = berlin(2030, 4, 5, 19, 6)
DEV = ServiceRef("team-a", "dev")


@dataclass(frozen=True)
class Run:
    killed_at: datetime
    rows_while_down: list[TransitionRecord]
    rows: list[TransitionRecord]
    annotation: str | None
    sigterm_exit: int
    rows_after_third: list[TransitionRecord]


def _stopped(stage_: Stage) -> bool:
    return any(r.transition.action is Action.STOP and not r.transition.blocked
               for r in stage_.rows(DEV))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=120.0)
    with stage(tmp_path_factory.mktemp("missed-edge"), template_db, timeline=timeline,
               services={DEV: {"tier": "dev"}},
               policies={"office-hours.yaml": office_hours(busy_at_stop="force")}) as stage_:
        first = stage_.start()
        first.wait_ticking(timeout=30)
        first.kill()
        killed_at = timeline.now()
        assert killed_at < STOP_EDGE, "the first child was killed only after the edge"
        timeline.wait_until(RESTART, timeout=60)
        down = stage_.rows(DEV)
        second = stage_.start()
        second.wait_ticking(timeout=30)
        wait_for(lambda: _stopped(stage_), timeout=30, what="the caught-up stop")
        timeline.wait_until(timeline.now() + timedelta(minutes=3), timeout=30)
        second.check_alive()
        rows = stage_.rows(DEV)
        exit_code = second.stop()
        third = stage_.start()
        third.wait_ticking(timeout=30)
        timeline.wait_until(timeline.now() + timedelta(minutes=3), timeout=30)
        third.check_alive()
        yield Run(killed_at=killed_at, rows_while_down=down, rows=rows,
                  annotation=stage_.stop_annotation(DEV), sigterm_exit=exit_code,
                  rows_after_third=stage_.rows(DEV))


def test_nothing_happens_while_reclaimer_is_down(run: Run) -> None:
    assert [r for r in run.rows_while_down if not r.transition.blocked] == []


def test_the_missed_edge_is_applied_exactly_once(run: Run) -> None:
    keyed = [r for r in run.rows if edge_of(r) == STOP_EDGE]
    assert [(r.transition.action, r.transition.blocked) for r in keyed] == [(Action.STOP, None)]


def test_the_late_edge_is_recorded_as_a_catch_up(run: Run) -> None:
    [row] = [r for r in run.rows if edge_of(r) == STOP_EDGE]
    assert row.transition.trigger is Trigger.CATCH_UP
    assert row.transition.at >= RESTART


def test_the_model_ends_up_stopped(run: Run) -> None:
    assert run.annotation == "true"


def test_sigterm_ends_the_service_cleanly(run: Run) -> None:
    assert run.sigterm_exit == 0


def test_a_further_restart_does_not_apply_the_edge_again(run: Run) -> None:
    assert [r.id for r in run.rows_after_third] == [r.id for r in run.rows]
