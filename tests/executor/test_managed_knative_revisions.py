"""The managed Knative stop (KServe 0.14) against Knative's real revision behaviour.

``minReplicas: 0`` makes a new revision that starts at one pod and needs a GPU of its
own before the old one lets go (issue 15, item 7). With a spare GPU the stop is verified
once the new revision has scaled to zero; with none, its pod stays Pending, the old pod
keeps serving, and verification fails with the pods still present, in the ledger and
in a ReclaimFailed Event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.executor.conftest import T0, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
SCALED = {"timeScale": 0.01}


def test_with_a_spare_gpu_the_stop_is_verified_at_zero_pods(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry(mode="Knative"),
                     scenario={**SCALED, "gpuCapacity": 2})
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.strategy, [o.kind for o in h.follow_up()]) == (
        "managed-knative", [OutcomeKind.VERIFIED])
    assert "scale-to-zero" in stop.message


def test_with_no_free_gpu_the_stop_fails_and_says_the_pods_remain(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry(mode="Knative"),
                     scenario={**SCALED, "gpuCapacity": 1})
    h.apply(Action.STOP)
    h.settle()
    outcomes = h.follow_up(T0 + timedelta(minutes=6))
    failed = [e["message"] for e in h.events() if e["reason"] == "ReclaimFailed"]
    assert [(o.kind, o.message) for o in outcomes] == [
        (OutcomeKind.FAILED, "not verified within 5m: 2 pod(s) still present")]
    assert failed == ["stop: not verified within 5m: 2 pod(s) still present"]


def test_a_managed_knative_start_is_verified_by_the_new_revision_not_a_stale_ready(
        make_harness: MakeHarness) -> None:
    """Issue 14: the revision scaled to zero stays Ready, so ``Ready=True`` right after
    the start says nothing; while no controller has acted the start is not verified,
    and it is once the new revision's Deployment has a pod available."""
    from reclaimer.executor import isvc_state as st  # noqa: PLC0415
    from tests.executor.test_managed_verify import controllers_stalled  # noqa: PLC0415

    h = make_harness("0.14", isvc_entry(mode="Knative"),
                     scenario={**SCALED, "gpuCapacity": 2})
    h.apply(Action.STOP)
    h.settle()
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    with controllers_stalled(h):
        assert h.apply(Action.START).kind is OutcomeKind.APPLIED
        ready_while_stalled = st.is_true(h.isvc(), st.READY)
        early = [o.kind for o in h.follow_up()]
    assert (ready_while_stalled, early) == (True, [])
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
