"""Issue 14 case 4: a retry reuses a planned row only for the same decision.

The sandbox (KServe 0.16, over HTTP) answers the first PATCH with 409; the ledger is a
real SQLite file or a real PostgreSQL 15, migrated to head.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.ledger import Ledger, open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.records import RecordState
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Reason, Transition, Trigger
from tests.executor.conftest import T0, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
EDGE = "team-a/office-hours|uid|2026-03-02T19:00:00+00:00|stop"


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite-file"),
    pytest.param("postgres", id="postgres-15"),
])
def sql_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    upgrade(parse_url(url))
    ledger = open_ledger(url)
    yield ledger
    ledger.close()


def _idle_stop(h: Harness, at: datetime, *, quiet_minutes: int) -> Transition:
    return Transition(ref=h.ref(), uid=h.isvc()["metadata"]["uid"], action=Action.STOP,
                      trigger=Trigger.IDLE, reason=Reason.IDLE_TIMEOUT,
                      policy="team-a/idle-30m", at=at, gpus=1,
                      evidence={"requests": 0, "quietMinutes": quiet_minutes})


def test_case4_a_later_idle_stop_gets_its_own_row_and_the_old_one_is_abandoned(
        make_harness: MakeHarness, sql_ledger: Ledger) -> None:
    h = make_harness("0.16", isvc_entry(), ledger=sql_ledger)
    h.handle.faults.add("patch", "inferenceservices", status=409)
    first = h.executor.apply(_idle_stop(h, T0, quiet_minutes=30), at=T0)
    later = T0 + timedelta(hours=3)
    second = h.executor.apply(_idle_stop(h, later, quiet_minutes=45), at=later)
    assert (first.kind, second.kind) == (OutcomeKind.RETRY, OutcomeKind.APPLIED)
    old, new = sorted(sql_ledger.history(), key=lambda r: r.id)
    assert (old.state, old.transition.at, new.state, new.transition.at) == (
        RecordState.ABANDONED, T0, RecordState.APPLIED, later)
    assert "superseded by the idle decision" in (old.error or "")
    assert dict(new.transition.evidence) == {"requests": 0, "quietMinutes": 45}


def test_case4_report_counts_the_gpu_hours_of_the_stop_that_acted(
        make_harness: MakeHarness, sql_ledger: Ledger) -> None:
    h = make_harness("0.16", isvc_entry(), ledger=sql_ledger)
    h.handle.faults.add("patch", "inferenceservices", status=409)
    h.executor.apply(_idle_stop(h, T0, quiet_minutes=30), at=T0)
    later = T0 + timedelta(hours=3)
    h.executor.apply(_idle_stop(h, later, quiet_minutes=45), at=later)
    report = sql_ledger.report(since=T0, now=T0 + timedelta(hours=4))
    assert report.total_gpu_hours == pytest.approx(1.0)


def test_case4_a_retry_of_the_same_edge_reuses_its_row_with_the_acting_attempt(
        make_harness: MakeHarness, sql_ledger: Ledger) -> None:
    h = make_harness("0.16", isvc_entry(), ledger=sql_ledger)
    h.handle.faults.add("patch", "inferenceservices", status=409)
    edge = h.transition(Action.STOP, edge_key=EDGE)
    retry_at = T0 + timedelta(seconds=30)
    retry = replace(edge, at=retry_at, evidence={"lateSeconds": 30.0}, gpus=1)
    kinds = [h.executor.apply(edge, at=T0).kind, h.executor.apply(retry, at=retry_at).kind]
    (row,) = sql_ledger.history()
    assert kinds == [OutcomeKind.RETRY, OutcomeKind.APPLIED]
    assert (row.state, row.transition.at, dict(row.transition.evidence), row.transition.gpus) == (
        RecordState.APPLIED, retry_at, {"lateSeconds": 30.0}, 1)


def test_case4_an_idle_retry_within_the_same_decision_reuses_its_row(
        make_harness: MakeHarness, sql_ledger: Ledger) -> None:
    h = make_harness("0.16", isvc_entry(), ledger=sql_ledger)
    h.handle.faults.add("patch", "inferenceservices", status=409)
    decision = _idle_stop(h, T0, quiet_minutes=30)
    kinds = [h.executor.apply(decision, at=T0).kind for _ in range(2)]
    (row,) = sql_ledger.history()
    assert (kinds, row.state) == ([OutcomeKind.RETRY, OutcomeKind.APPLIED], RecordState.APPLIED)


def test_case4_a_kept_row_settled_meanwhile_is_not_acted_on(
        make_harness: MakeHarness, sql_ledger: Ledger) -> None:
    """Another replica's recovery abandoned the kept row: the retry writes nothing and
    fails nothing else; the edge is free for the next attempt."""
    h = make_harness("0.16", isvc_entry(), ledger=sql_ledger)
    h.handle.faults.add("patch", "inferenceservices", status=409)
    edge = h.transition(Action.STOP, edge_key=EDGE)
    first = h.executor.apply(edge, at=T0)
    assert first.record_id is not None
    sql_ledger.mark_abandoned(first.record_id, at=T0, error="recovered by replica-2")
    retry_at = T0 + timedelta(seconds=30)
    skipped = h.executor.apply(replace(edge, at=retry_at), at=retry_at)
    again = h.executor.apply(replace(edge, at=retry_at), at=retry_at)
    assert (skipped.kind, again.kind) == (OutcomeKind.SKIPPED, OutcomeKind.APPLIED)
    assert [r.state for r in sorted(sql_ledger.history(), key=lambda r: r.id)] == [
        RecordState.ABANDONED, RecordState.APPLIED]


def test_case4_kept_rows_are_known_and_forgotten_at_a_new_term(
        make_harness: MakeHarness, sql_ledger: Ledger) -> None:
    h = make_harness("0.16", isvc_entry(), ledger=sql_ledger)
    h.handle.faults.add("patch", "inferenceservices", status=409)
    first = h.executor.apply(h.transition(Action.STOP, edge_key=EDGE), at=T0)
    kept = h.executor.attempts.kept_ids()
    h.executor.attempts.clear()
    assert (kept, h.executor.attempts.kept_ids()) == (frozenset({first.record_id}), frozenset())
    assert h.executor.retried_edge_keys() == frozenset()
