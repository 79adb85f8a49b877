"""Managed stop on a KServe 0.14 sandbox (no native stop): Raw, Knative, ModelMesh."""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.managed.knative import STOPPED_MESSAGE as KNATIVE_MESSAGE
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.executor.recover import recover
from reclaimer.kube import rest
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry

pytestmark = pytest.mark.integration
CLASS = "serving.kserve.io/autoscalerClass"


def _replicas(h: Harness) -> dict[str, int]:
    return {d["metadata"]["name"]: d["spec"].get("replicas")
            for d in h.cluster.component_deployments(h.ref())}


def _touch(h: Harness) -> None:
    """A label change makes the simulated KServe reconcile the ISVC again."""
    h.rest.merge_patch(rest.ISVC, NS, "llama", {"metadata": {"labels": {"touched": "yes"}}})
    h.settle()


def _stop(h: Harness) -> None:
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()


def test_raw_stop_scales_every_component_to_zero(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry(transformer=True))
    _stop(h)
    assert _replicas(h) == {"llama-predictor": 0, "llama-transformer": 0}
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_raw_stop_holds_across_reconciles(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    _stop(h)
    _touch(h)
    _touch(h)
    assert _replicas(h) == {"llama-predictor": 0}
    assert h.cluster.pod_counts().get(h.ref(), 0) == 0


def _drop_stopped_condition(h: Harness) -> None:
    """What a status rewrite by another controller looks like: our condition gone."""
    obj = h.isvc()
    kept = [c for c in st.conditions(obj) if c.get("type") != "Stopped"]
    h.rest.merge_patch(rest.ISVC, NS, "llama", {"status": {"conditions": kept}},
                       subresource="status")


def test_stopped_condition_is_reasserted_when_status_is_rewritten(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    _stop(h)
    h.follow_up()
    _drop_stopped_condition(h)
    dropped = st.own_stopped(h.isvc())
    h.follow_up()
    assert (dropped, st.own_stopped(h.isvc())) == (False, True)


def test_stopped_condition_survives_kserve_reconciles(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    _stop(h)
    _touch(h)
    assert st.own_stopped(h.isvc())


@pytest.mark.parametrize("entry", [
    pytest.param(isvc_entry(), id="defaults"),
    pytest.param(isvc_entry(minReplicas=2, annotations={CLASS: "hpa"}), id="explicit-hpa-min2"),
    pytest.param(isvc_entry(minReplicas=3, annotations={CLASS: "external"}), id="external"),
])
def test_raw_start_restores_class_min_replicas_and_replicas_exactly(
        make_harness: MakeHarness, entry: dict[str, Any]) -> None:
    h = make_harness("0.14", entry)
    before_obj, before_replicas = h.isvc(), _replicas(h)
    _stop(h)
    assert h.apply(Action.START).kind is OutcomeKind.APPLIED
    h.settle()
    after = h.isvc()
    assert after["metadata"].get("annotations") == before_obj["metadata"].get("annotations")
    assert after["spec"] == before_obj["spec"]
    assert _replicas(h) == before_replicas
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_raw_restore_info_is_saved_before_any_change(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry(minReplicas=2))
    uid = h.isvc()["metadata"]["uid"]
    h.handle.faults.add("patch", "inferenceservices", status=503, times=10)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    info = h.ledger.load_restore_info(h.ref(), uid)
    assert info is not None
    assert (info["autoscalerClass"], info["minReplicas"], info["replicas"]) == (
        None, {"predictor": 2}, {"llama-predictor": 2})


def test_knative_stop_is_scale_to_zero_and_says_so(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry(mode="Knative"))
    outcome = h.apply(Action.STOP)
    h.settle()
    obj = h.isvc()
    assert outcome.strategy == "managed-knative"
    assert obj["spec"]["predictor"]["minReplicas"] == 0
    assert st.condition(obj, "Stopped") is not None
    assert st.condition(obj, "Stopped")["message"] == KNATIVE_MESSAGE  # type: ignore[index]
    assert any("scale-to-zero" in e["message"] for e in h.events())
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_knative_start_restores_min_replicas(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry(mode="Knative"))
    before = h.isvc()["spec"]
    _stop(h)
    h.apply(Action.START)
    h.settle()
    assert h.isvc()["spec"] == before
    assert h.cluster.pod_counts().get(h.ref(), 0) == 1


def test_modelmesh_without_a_named_runtime_is_refused_and_untouched(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry(mode="ModelMesh"))
    h.handle.request_log.clear()
    outcome = h.apply(Action.STOP)
    assert outcome.kind is OutcomeKind.FAILED
    assert "names no ServingRuntime" in outcome.message
    assert h.handle.request_log.count(verb="patch") == 0
    assert h.states() == ["failed"]
    assert [e["reason"] for e in h.events()] == ["ReclaimFailed"]


def test_managed_stop_adds_no_annotation_beyond_the_autoscaler_class(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    before = dict(h.isvc()["metadata"].get("annotations") or {})
    _stop(h)
    after = dict(h.isvc()["metadata"].get("annotations") or {})
    assert (set(after) - set(before), h.isvc()["metadata"].get("labels")) == (
        {CLASS}, {"tier": "dev"})


def test_a_restarted_executor_keeps_asserting_a_managed_stop(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    _stop(h)
    h.follow_up()
    successor = Executor(h.cluster, h.ledger, actor="successor")
    recover(successor, at=T0)
    _drop_stopped_condition(h)
    successor.followup.run(at=T0)
    assert st.own_stopped(h.isvc())


def test_a_stop_undone_by_hand_is_no_longer_asserted(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    _stop(h)
    h.follow_up()
    h.rest.merge_patch(rest.ISVC, NS, "llama", {"metadata": {"annotations": {CLASS: None}}})
    _drop_stopped_condition(h)
    h.follow_up()
    assert (st.own_stopped(h.isvc()), h.executor.followup.held) == (False, {})


def test_a_repeated_refusal_adds_no_rows_and_no_events(
        make_harness: MakeHarness) -> None:
    """Issue 14 case 5: a refusal is permanent; the decision fails once."""
    h = make_harness("0.14", isvc_entry(mode="ModelMesh"))
    kinds = [h.apply(Action.STOP).kind for _ in range(3)]
    (event,) = h.events()
    assert (kinds, h.states(), event["count"]) == (
        [OutcomeKind.FAILED, OutcomeKind.SKIPPED, OutcomeKind.SKIPPED], ["failed"], 1)
