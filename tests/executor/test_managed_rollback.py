"""A permanent failure midway through a managed Standard stop is put back, and said.

The predictor's Deployment goes to 0, then the transformer's scale is refused (an
admission policy, a RoleBinding missing in the namespace): the service must not be left
half-stopped behind a ``failed`` row that does not say so. Sandbox over HTTP, its fault
injection in front of the real requests.
"""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import ErrorClass, OutcomeKind
from reclaimer.model import Action
from tests.executor.conftest import Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
CLASS = "serving.kserve.io/autoscalerClass"


def _replicas(h: Harness) -> dict[str, int]:
    return {d["metadata"]["name"]: d["spec"].get("replicas")
            for d in h.cluster.component_deployments(h.ref())}


def _looks(h: Harness) -> tuple[Any, ...]:
    obj = h.isvc()
    return (st.annotations_of(obj).get(CLASS), _replicas(h), st.own_stopped(obj))


def _refuse_transformer_scale(h: Harness, status: int) -> None:
    h.handle.faults.add("patch", "deployments", name="llama-transformer", status=status,
                        times=-1, message="denied by policy no-scale")


@pytest.mark.parametrize("status", [pytest.param(403, id="forbidden"),
                                    pytest.param(422, id="invalid"),
                                    pytest.param(400, id="bad-request")])
def test_a_stop_refused_midway_is_rolled_back_and_the_row_says_so(
        make_harness: MakeHarness, status: int) -> None:
    h = make_harness("0.15", isvc_entry(transformer=True, annotations={CLASS: "hpa"}))
    before = _looks(h)
    _refuse_transformer_scale(h, status)
    stop = h.apply(Action.STOP)
    h.settle()
    (row,) = h.ledger.history()
    assert (stop.kind, stop.error, _looks(h)) == (OutcomeKind.FAILED, ErrorClass.PERMANENT,
                                                  before)
    assert row.state.value == "failed"
    assert (row.error or "").startswith("managed-raw: permanent error (")
    assert f"{status} " in (row.error or "")
    assert (row.error or "").endswith(
        "rolled back: Deployment llama-predictor scaled back to 1, "
        "autoscalerClass set back to 'hpa'")


def test_a_stop_refused_at_its_first_write_has_nothing_to_roll_back(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=403, times=-1)
    h.apply(Action.STOP)
    (row,) = h.ledger.history()
    assert (row.error or "").endswith("rolled back: nothing was changed")


def test_a_stop_whose_rollback_fails_too_says_the_service_is_partially_stopped(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", delay=0.001)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=403, times=-1)
    stop = h.apply(Action.STOP)
    h.settle()
    (row,) = h.ledger.history()
    (event,) = [e for e in h.events() if e["reason"] == "ReclaimFailed"]
    assert (stop.kind, _looks(h)) == (
        OutcomeKind.FAILED, ("external", {"llama-predictor": 0, "llama-transformer": 1}, False))
    assert "PARTIALLY STOPPED" in (row.error or "")
    assert "PARTIALLY STOPPED" in event["message"]
    assert "reclaimer start team-a/llama" in (row.error or "")


def test_a_partially_stopped_service_is_restored_by_a_start(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry(transformer=True))
    before = _looks(h)
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", delay=0.001)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=403, times=1)
    h.apply(Action.STOP)
    h.handle.faults.clear()
    start = h.apply(Action.START)
    h.settle()
    assert (start.kind, _looks(h)) == (OutcomeKind.APPLIED, before)
