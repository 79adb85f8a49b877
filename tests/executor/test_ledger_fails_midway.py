"""The ledger fails while a stop is being put back: nothing more is written to the
cluster, and nothing is forgotten (issue 14, "every record is true").

Putting back a managed Standard stop first saves the fields the stop changed
(``rollingBack.changed``), then writes them back. When that save fails, the executor
must not write (it could not say what it put back), and the row that owns the rollback
must stay owned: kept for the next tick, which puts back and closes it once the
database answers. A new decision for that service does not act over the unsettled row.
Real SQLite and PostgreSQL 15 (`FailingLedger` refuses just that save), sandbox over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.errors import LedgerUnavailable
from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action
from tests.executor.conftest import T0, Harness, MakeHarness, isvc_entry
from tests.fixtures.failing_ledger import FailingLedger, saving_changed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
CLASS = "serving.kserve.io/autoscalerClass"
HALF_STOPPED = ("external", {"llama-predictor": 0, "llama-transformer": 1})
RUNNING = (None, {"llama-predictor": 1, "llama-transformer": 1})


def _looks(h: Harness) -> tuple[Any, ...]:
    return (st.annotations_of(h.isvc()).get(CLASS),
            {d["metadata"]["name"]: d["spec"].get("replicas")
             for d in h.cluster.component_deployments(h.ref())})


@pytest.fixture(params=["sqlite", "postgres-15"])
def failing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FailingLedger]:
    """The same refusals on both stores the service runs on."""
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    upgrade(parse_url(url))
    ledger = FailingLedger.open(url)
    request.node.ledger_url = url
    yield ledger
    ledger.close()


def _harness(make_harness: MakeHarness, ledger: FailingLedger
             ) -> tuple[Harness, FailingLedger]:
    return make_harness("0.15", isvc_entry(transformer=True), ledger=ledger), ledger


def _stalled_midway(h: Harness) -> None:
    """The predictor at 0, the class external, the transformer's scale failing (503):
    the row kept planned for a retry of the same decision."""
    h.handle.faults.add("patch", "deployments", name="llama-transformer", status=503,
                        times=-1)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.settle()
    h.handle.faults.clear()


def _writes(h: Harness) -> int:
    return sum(1 for r in h.handle.request_log.entries() if r.method not in ("GET", "HEAD"))


def test_a_row_whose_rollback_cannot_be_recorded_is_kept_and_put_back_next_tick(
        make_harness: MakeHarness, failing: FailingLedger) -> None:
    h, ledger = _harness(make_harness, failing)
    _stalled_midway(h)
    ledger.fail_saves = saving_changed
    h.handle.request_log.clear()
    refused = h.executor.settle_retries([], at=T0 + timedelta(minutes=1))
    then = (refused, _writes(h), h.states(), _looks(h), bool(h.executor.retried_record_ids()))
    ledger.fail_saves = None
    (closed,) = h.executor.settle_retries([], at=T0 + timedelta(minutes=2))
    h.settle()
    assert (ledger.refused, then) == (1, ([], 0, ["planned"], HALF_STOPPED, True))
    assert (closed.kind, h.states(), _looks(h)) == (OutcomeKind.ABANDONED, ["abandoned"],
                                                    RUNNING)


def test_a_stop_whose_rollback_cannot_be_recorded_writes_nothing_more_and_waits(
        make_harness: MakeHarness, failing: FailingLedger) -> None:
    """The stop fails for good midway (403 on the transformer) while the database
    refuses the rollback's save: nothing is written back unrecorded, the row stays
    planned and kept. A new stop decided meanwhile does not act over it (nor record
    the old failure as its own); once the database answers, the old row is closed
    failed with what was put back, and the new decision stops."""
    h, ledger = _harness(make_harness, failing)
    h.handle.faults.add("patch", "deployments", name="llama-transformer", status=403,
                        times=1, message="denied by policy no-scale")
    ledger.fail_saves = saving_changed
    with pytest.raises(LedgerUnavailable):
        h.apply(Action.STOP)
    h.settle()
    first = (h.states(), _looks(h), bool(h.executor.retried_record_ids()))
    later = T0 + timedelta(minutes=1)
    newer = replace(h.transition(Action.STOP), at=later, edge_key="team-a/p|x|later|stop")
    waiting = h.executor.apply(newer, at=later)
    then = (waiting.kind, h.states(), _looks(h))
    ledger.fail_saves = None
    stop = h.executor.apply(newer, at=later + timedelta(seconds=30))
    h.settle()
    old, new = sorted(h.ledger.history(), key=lambda r: r.id)
    assert (first, then) == ((["planned"], HALF_STOPPED, True),
                             (OutcomeKind.SKIPPED, ["planned"], HALF_STOPPED))
    assert (stop.kind, old.state.value, new.state.value, new.error, _looks(h)) == (
        OutcomeKind.APPLIED, "failed", "applied", None,
        ("external", {"llama-predictor": 0, "llama-transformer": 0}))
    assert "rolled back: Deployment llama-predictor scaled back to 1" in (old.error or "")


def test_a_new_leader_whose_ledger_refuses_the_rollback_writes_nothing_and_waits(
        make_harness: MakeHarness, failing: FailingLedger,
        request: pytest.FixtureRequest) -> None:
    """Two of us: the old leader left the stop half done (row planned) and died. The
    new leader, on its own connection to the same database, recovers it: a partial stop
    to put back, whose ``changed`` save the database refuses. Recovery fails as a whole
    (the tick's `TermKeeper` keeps recovery due): nothing written to the cluster, the
    row still planned. Once the database answers, recovery puts back and closes it, and
    a newer stop acts."""
    from reclaimer.executor.executor import Executor  # noqa: PLC0415
    from reclaimer.executor.recover import recover  # noqa: PLC0415

    h, _ = _harness(make_harness, failing)
    _stalled_midway(h)
    successor_ledger = FailingLedger.open(request.node.ledger_url)
    try:
        successor = Executor(h.cluster, successor_ledger, actor="successor",
                             options=h.executor.options)
        successor_ledger.fail_saves = saving_changed
        later = T0 + timedelta(minutes=1)
        h.handle.request_log.clear()
        with pytest.raises(LedgerUnavailable):
            recover(successor, at=later)
        then = (_writes(h), h.states(), _looks(h))
        successor_ledger.fail_saves = None
        recovered = [o.kind for o in recover(successor, at=later + timedelta(seconds=30))]
        h.settle()
        back = (h.states(), _looks(h))
        newer = replace(h.transition(Action.STOP), at=later, edge_key="team-a/p|x|later|stop")
        stop = successor.apply(newer, at=later + timedelta(minutes=1))
        h.settle()
    finally:
        successor_ledger.close()
    assert then == (0, ["planned"], HALF_STOPPED)
    assert (recovered, back) == ([OutcomeKind.ABANDONED], (["abandoned"], RUNNING))
    assert (stop.kind, h.states(), _looks(h)) == (
        OutcomeKind.APPLIED, ["abandoned", "applied"],
        ("external", {"llama-predictor": 0, "llama-transformer": 0}))
