"""Issue 14 case 8: KEDA owns the replicas.

The managed Raw stop pauses a ScaledObject on a component Deployment with KEDA's own
annotation, saved first and restored on start; another owner of the replicas (an HPA not
made by KServe, an Argo Rollout) is refused with the reason, before any write. Against
the sandbox over HTTP: KServe 0.14 with the ScaledObject's CRD and object given as
scenario ``objects``; and on the sandbox's KEDA simulator (scenario ``keda``: KServe's
ScaledObject for class ``keda``, KEDA scaling to the scenario's load, the pause
honoured), KEDA no longer scales the stopped Deployment back up.
"""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube import rest
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
PAUSED = "autoscaling.keda.sh/paused-replicas"
CLASS = "serving.kserve.io/autoscalerClass"
SCALED_OBJECT = rest.Kind("keda.sh", "v1alpha1", "scaledobjects")
HPA = rest.Kind("autoscaling", "v2", "horizontalpodautoscalers")
TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-predictor"}
LOAD = 3


def _crd(group: str, kind: str, plural: str, version: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                     "versions": [{"name": version, "served": True, "storage": True}]}}


KEDA_CRD = _crd("keda.sh", "ScaledObject", "scaledobjects", "v1alpha1")
ROLLOUT_CRD = _crd("argoproj.io", "Rollout", "rollouts", "v1alpha1")
ROLLOUT = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
           "metadata": {"name": "llama-canary", "namespace": NS},
           "spec": {"workloadRef": TARGET, "strategy": {"canary": {}}}}


def _scaled_object(paused: str | None = None) -> dict[str, Any]:
    annotations = {} if paused is None else {PAUSED: paused}
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "llama-predictor", "namespace": NS,
                         "annotations": annotations},
            "spec": {"scaleTargetRef": {"name": "llama-predictor"}, "minReplicaCount": 1,
                     "maxReplicaCount": 3, "triggers": [{"type": "cpu"}]}}


def _hpa(name: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta,
            "spec": {"scaleTargetRef": TARGET, "minReplicas": 1, "maxReplicas": 3}}


def _with_scaled_object(make_harness: MakeHarness, *extra: dict[str, Any],
                        paused: str | None = None) -> Harness:
    """A ScaledObject someone made on llama's Deployment; class ``external``, so that
    KServe's own HPA does not fight it where the sandbox simulates KEDA."""
    return make_harness("0.14", isvc_entry(annotations={CLASS: "external"}), scenario={
        "objects": [KEDA_CRD, _scaled_object(paused), *extra]})


def _pause_of(h: Harness) -> str | None:
    so = h.rest.get(SCALED_OBJECT, NS, "llama-predictor")
    return (so["metadata"].get("annotations") or {}).get(PAUSED)


def _replicas(h: Harness) -> int:
    return int(h.rest.get(rest.DEPLOYMENT, NS, "llama-predictor")["spec"].get("replicas", 1))


def _saved(h: Harness) -> dict[str, Any]:
    return dict(h.ledger.load_restore_info(h.ref(), h.isvc()["metadata"]["uid"]) or {})


def test_case8_a_managed_stop_pauses_the_scaled_object_to_zero(
        make_harness: MakeHarness) -> None:
    h = _with_scaled_object(make_harness)
    outcome = h.apply(Action.STOP)
    h.settle()
    assert (outcome.kind, _pause_of(h), _replicas(h)) == (OutcomeKind.APPLIED, "0", 0)
    assert _saved(h).get("scaledObjects") == {"llama-predictor": None}
    assert "paused with autoscaling.keda.sh/paused-replicas" in outcome.message


@pytest.mark.parametrize("earlier", [
    pytest.param(None, id="no-pause-before"),
    pytest.param("2", id="a-persons-pause-before"),
])
def test_case8_the_start_restores_the_scaled_objects_pause(make_harness: MakeHarness,
                                                          earlier: str | None) -> None:
    h = _with_scaled_object(make_harness, paused=earlier)
    h.apply(Action.STOP)
    h.settle()
    started = h.apply(Action.START)
    h.settle()
    assert (started.kind, _pause_of(h)) == (OutcomeKind.APPLIED, earlier)


def test_case8_keda_s_own_hpa_is_no_refusal(make_harness: MakeHarness) -> None:
    h = _with_scaled_object(make_harness)
    so = h.rest.get(SCALED_OBJECT, NS, "llama-predictor")
    owner = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "controller": True,
             "name": "llama-predictor", "uid": so["metadata"]["uid"]}
    h.rest.request("POST", HPA.path(NS), body=_hpa("keda-hpa-llama-predictor", owner))
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED


@pytest.mark.parametrize(("objects", "names"), [
    pytest.param((_hpa("llama-custom"),), "HorizontalPodAutoscaler team-a/llama-custom",
                 id="an-hpa-not-made-by-kserve"),
    pytest.param((ROLLOUT_CRD, ROLLOUT), "Argo Rollout team-a/llama-canary",
                 id="an-argo-rollout"),
])
def test_case8_another_owner_of_the_replicas_is_refused_before_any_write(
        make_harness: MakeHarness, objects: tuple[dict[str, Any], ...], names: str) -> None:
    h = make_harness("0.14", isvc_entry(), scenario={"objects": list(objects)})
    h.handle.request_log.clear()
    outcome = h.apply(Action.STOP)
    (event,) = h.events()
    assert (outcome.kind, h.states(), event["reason"]) == (
        OutcomeKind.FAILED, ["failed"], "ReclaimFailed")
    assert names in outcome.message and "does not fight" in outcome.message
    assert h.handle.request_log.count(verb="patch") == 0
    assert _saved(h) == {}


# --- against the sandbox's KEDA simulator (issue 15 item 11) -------------------------


def _keda(make_harness: MakeHarness) -> Harness:
    return make_harness("0.15", isvc_entry(annotations={CLASS: "keda"}, minReplicas=1,
                                           maxReplicas=4, load=LOAD),
                        strategy="managed", scenario={"keda": True})


def _pods(h: Harness) -> int:
    found = h.rest.list(rest.POD, NS, label_selector="serving.kserve.io/inferenceservice=llama")
    return sum(1 for p in found.get("items") or [] if not p["metadata"].get("deletionTimestamp"))


def test_case8_keda_no_longer_scales_the_stopped_deployment_back_up(
        make_harness: MakeHarness) -> None:
    h = _keda(make_harness)
    h.settle()
    before = _pods(h)
    outcome = h.apply(Action.STOP)
    h.settle()
    h.settle()
    assert (before, outcome.kind, _pause_of(h), _pods(h)) == (LOAD, OutcomeKind.APPLIED, "0", 0)
    assert _saved(h).get("autoscalerClass") == "keda"


@pytest.mark.parametrize(("earlier", "pods"), [
    pytest.param(None, LOAD, id="no-pause-before"),
    pytest.param("2", 2, id="a-persons-pause-before"),
])
def test_case8_keda_scales_again_after_the_start(make_harness: MakeHarness,
                                                 earlier: str | None, pods: int) -> None:
    h = _keda(make_harness)
    if earlier is not None:
        h.rest.merge_patch(SCALED_OBJECT, NS, "llama-predictor",
                           {"metadata": {"annotations": {PAUSED: earlier}}})
        h.settle()
    h.apply(Action.STOP)
    h.settle()
    started = h.apply(Action.START)
    h.settle()
    h.settle()
    annotations = h.isvc()["metadata"].get("annotations") or {}
    assert (started.kind, _pause_of(h), annotations.get(CLASS), _pods(h)) == (
        OutcomeKind.APPLIED, earlier, "keda", pods)


# --- review-exec attacks ---------------------------------------------------------------


@pytest.mark.parametrize("earlier", [
    pytest.param(None, id="no-pause-before"),
    pytest.param("2", id="a-persons-pause-before"),
])
def test_a_scaled_object_deleted_while_stopped_does_not_block_the_start(
        make_harness: MakeHarness, earlier: str | None) -> None:
    h = _with_scaled_object(make_harness, paused=earlier)
    h.settle()
    before = _replicas(h)
    h.apply(Action.STOP)
    h.settle()
    h.rest.request("DELETE", SCALED_OBJECT.path(NS) + "/llama-predictor")
    started = h.apply(Action.START)
    h.settle()
    annotations = h.isvc()["metadata"].get("annotations") or {}
    assert (started.kind, _replicas(h), annotations.get(CLASS)) == (
        OutcomeKind.APPLIED, before, "external")


def test_a_refused_keda_pause_leaves_a_state_the_next_start_undoes(
        make_harness: MakeHarness) -> None:
    """The class is written, then the ScaledObject's PATCH gets a 403: the stop fails
    once, and the next start edge puts the class back from the saved restore info."""
    h = make_harness("0.14", isvc_entry(), scenario={
        "objects": [KEDA_CRD, _scaled_object()]})
    h.handle.faults.add("patch", "scaledobjects", NS, "llama-predictor", status=403)
    stopped = h.apply(Action.STOP)
    h.settle()
    assert (stopped.kind, _replicas(h), _pause_of(h)) == (OutcomeKind.FAILED, 1, None)
    started = h.apply(Action.START)
    h.settle()
    annotations = h.isvc()["metadata"].get("annotations") or {}
    assert (started.kind, annotations.get(CLASS), _pause_of(h), _replicas(h)) == (
        OutcomeKind.APPLIED, None, None, 1)


def test_a_stop_killed_before_its_keda_pause_is_finished_not_taken_as_applied(
        make_harness: MakeHarness) -> None:
    """Issue 14, recovery checks every step: the process saved the restore information,
    set the class and died before pausing the ScaledObject, on a service already at 0
    replicas. The row is not `applied` with KEDA free to scale the service up again: it
    is kept for the edge, whose next decision pauses the ScaledObject. (Controllers
    stalled: the moment on a real cluster before any reacts.)"""
    from reclaimer.executor.recover import recover  # noqa: PLC0415
    from tests.executor.test_managed_verify import controllers_stalled  # noqa: PLC0415

    h = make_harness("0.14", isvc_entry(annotations={CLASS: "hpa"}), scenario={
        "objects": [KEDA_CRD, _scaled_object()]})
    edge = h.transition(Action.STOP, edge_key="team-a/office-hours|u|t|stop")
    with controllers_stalled(h):
        h.cluster.scale_deployment(NS, "llama-predictor", 0)
        row = h.ledger.record_planned(edge, strategy="managed-raw", actor="replica-old",
                                      at=T0)
        h.ledger.save_restore_info(h.ref(), edge.uid, {
            "strategy": "managed-raw", "autoscalerClass": "hpa",
            "minReplicas": {"predictor": None}, "replicas": {"llama-predictor": 0},
            "scaledObjects": {"llama-predictor": None}}, at=T0)
        h.rest.merge_patch(rest.ISVC, NS, "llama", {"metadata": {"annotations": {
            CLASS: "external"}}})
        (recovered,) = recover(h.executor, at=T0)
        again = h.executor.apply(edge, at=T0)
    assert (recovered.kind, again.kind, again.record_id, _pause_of(h)) == (
        OutcomeKind.RETRY, OutcomeKind.APPLIED, row.id, "0")
