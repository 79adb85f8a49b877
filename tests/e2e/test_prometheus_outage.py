"""Prometheus dies mid-run: unknown is never idle, schedules still apply.

Thu 2030-04-04, Berlin, from 18:40 at 360x. ``team-b/quiet`` would be idle-stoppable
from 19:10 (30 quiet minutes since it was created) and ``team-a/dev`` is under office
hours with ``busyAtStop: force``; ``team-c/cautious`` is under office hours with
``busyAtStop: defer`` and ``maxDefer: 20m``. Prometheus is stopped once the child has seen known
signals, before 19:00. By 19:40 the forced schedule stop must have happened, the deferred
one (unknown traffic counts as busy) must have been forced at 19:20, the idle stop must
not have happened, and ``reclaimer_signals_unknown`` must have risen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, Reason, ServiceRef, Trigger
from tests.e2e.harness import berlin, edge_of, held, wait_for
from tests.e2e.policies import IDLE, office_hours, quiet
from tests.e2e.stage import prometheus_data, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(120)]

START = berlin(2030, 4, 4, 18, 40)
STOP_EDGE = berlin(2030, 4, 4, 19, 0)
END = berlin(2030, 4, 4, 19, 40)
QUIET = ServiceRef("team-b", "quiet")
DEV = ServiceRef("team-a", "dev")
CAUTIOUS = ServiceRef("team-c", "cautious")
MAX_DEFER = timedelta(minutes=20)
UNKNOWN = "reclaimer_signals_unknown"


@dataclass(frozen=True)
class Run:
    unknown_before: float
    unknown_after: float
    rows: dict[ServiceRef, list[TransitionRecord]]
    quiet_annotation: str | None


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=360.0)
    data_from = START - timedelta(hours=2)
    data = prometheus_data({ref: quiet(data_from) for ref in (QUIET, DEV, CAUTIOUS)},
                           start=data_from, end=END + timedelta(hours=1))
    with stage(tmp_path_factory.mktemp("prometheus-outage"), template_db, timeline=timeline,
               services={QUIET: {"reclaim": "idle"}, DEV: {"tier": "dev"},
                         CAUTIOUS: {"tier": "dev"}},
               policies={"idle.yaml": IDLE,
                         "office-hours.yaml": office_hours(busy_at_stop="force"),
                         "cautious.yaml": office_hours(max_defer="20m", namespace="team-c",
                                                       name="cautious")},
               metrics=data) as stage_:
        child = stage_.start()
        child.wait_ticking(timeout=30)
        before = child.metrics()[UNKNOWN]
        stage_.kill_prometheus()
        assert timeline.now() < STOP_EDGE, "Prometheus went away only after the edge"
        after = wait_for(lambda: child.metric(UNKNOWN) or None, timeout=30,
                         what="signals to turn unknown")
        timeline.wait_until(END, timeout=60)
        child.check_alive()
        yield Run(unknown_before=before, unknown_after=after,
                  rows={ref: stage_.rows(ref) for ref in (QUIET, DEV, CAUTIOUS)},
                  quiet_annotation=stage_.stop_annotation(QUIET))


def test_signals_are_known_while_prometheus_answers(run: Run) -> None:
    assert run.unknown_before == 0


def test_signals_unknown_rises_once_prometheus_is_gone(run: Run) -> None:
    """The idle policy and the deferring one need signals; a forced stop does not."""
    assert run.unknown_after == 2


def test_no_idle_stop_happens_on_unknown_signals(run: Run) -> None:
    acted = [r for r in run.rows[QUIET] if not r.transition.blocked]
    assert (acted, run.quiet_annotation) == ([], None)


def test_the_forced_schedule_stop_is_still_applied(run: Run) -> None:
    acted = [r for r in run.rows[DEV] if not r.transition.blocked]
    assert [(r.transition.action, r.transition.trigger, edge_of(r)) for r in acted] == [
        (Action.STOP, Trigger.SCHEDULE, STOP_EDGE)]


def test_unknown_traffic_defers_a_cautious_stop(run: Run) -> None:
    first = run.rows[CAUTIOUS][0]
    assert (first.transition.action, first.transition.reason, edge_of(first)) == (
        Action.STOP, Reason.DEFERRED_BUSY, STOP_EDGE)
    # the edge is not consumed
    assert first.transition.blocked is not None and first.transition.edge_key is None


def test_the_deferred_stop_is_forced_after_max_defer(run: Run) -> None:
    [stop] = [r for r in run.rows[CAUTIOUS] if not r.transition.blocked]
    assert (stop.transition.action, stop.transition.reason, edge_of(stop)) == (
        Action.STOP, Reason.FORCED_AFTER_MAX_DEFER, STOP_EDGE)
    assert stop.transition.at >= STOP_EDGE + MAX_DEFER
