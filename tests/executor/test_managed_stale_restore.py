"""Restore information left by an earlier managed Standard stop is not this stop's.

A start (or the undo of a stop) leaves the saved restore information in the ledger.
When a person later sets ``autoscalerClass: external`` on purpose and runs the replicas
by hand, that class is no mark of a stop begun by us: a stop must save what is there
now, a start must put back the person's setup, and a kept stop row closed before it
wrote anything must not "put back" the old stop's values over the person's. Sandbox
over HTTP, the executor's own writes and a person's writes through the same client.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.ledger import Ledger, MemoryLedger, open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
CLASS = "serving.kserve.io/autoscalerClass"


@pytest.fixture(params=[pytest.param("memory", id="memory"),
                        pytest.param("sqlite", id="sqlite-file"),
                        pytest.param("postgres", id="postgres-15")])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The restore information goes through each store's own JSON column."""
    if request.param == "memory":
        yield MemoryLedger()
        return
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    upgrade(parse_url(url))
    store = open_ledger(url)
    yield store
    store.close()


def _looks(h: Harness) -> tuple[Any, ...]:
    return (st.annotations_of(h.isvc()).get(CLASS),
            {d["metadata"]["name"]: d["spec"].get("replicas")
             for d in h.cluster.component_deployments(h.ref())})


def _stopped_started_then_run_by_hand(make_harness: MakeHarness, ledger: Ledger) -> Harness:
    """One managed stop and start (restore information saved, then used), then a
    person takes the replicas over: class external, the predictor at 3."""
    h = make_harness("0.15", isvc_entry(), ledger=ledger)
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()
    assert h.apply(Action.START, at=T0 + timedelta(hours=1)).kind is OutcomeKind.APPLIED
    h.settle()
    assert _looks(h) == (None, {"llama-predictor": 1})
    obj = h.isvc()
    h.cluster.patch_isvc(h.ref(), {"metadata": {
        "annotations": {CLASS: "external"}, "resourceVersion": st.resource_version(obj)}})
    h.cluster.scale_deployment(NS, "llama-predictor", 3)
    h.settle()
    assert _looks(h) == ("external", {"llama-predictor": 3})
    return h


def test_a_start_puts_back_the_persons_setup_not_an_earlier_stops(
        make_harness: MakeHarness, ledger: Ledger) -> None:
    h = _stopped_started_then_run_by_hand(make_harness, ledger)
    assert h.apply(Action.STOP, at=T0 + timedelta(days=1)).kind is OutcomeKind.APPLIED
    h.settle()
    assert _looks(h) == ("external", {"llama-predictor": 0})
    h.apply(Action.START, at=T0 + timedelta(days=1, hours=1))
    h.settle()
    assert _looks(h) == ("external", {"llama-predictor": 3})


def test_a_kept_stop_closed_before_it_wrote_does_not_undo_a_persons_setup(
        make_harness: MakeHarness, ledger: Ledger) -> None:
    h = _stopped_started_then_run_by_hand(make_harness, ledger)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=503,
                        times=-1)
    assert h.apply(Action.STOP, at=T0 + timedelta(days=1)).kind is OutcomeKind.RETRY
    h.handle.faults.clear()
    (closed,) = h.executor.settle_retries([], at=T0 + timedelta(days=1, minutes=1))
    h.settle()
    assert (closed.kind, _looks(h)) == (OutcomeKind.ABANDONED,
                                        ("external", {"llama-predictor": 3}))
