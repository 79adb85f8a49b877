"""Issue 14 case 8: KEDA owns the replicas. The managed Raw stop (KServe 0.14 in the
sandbox, over HTTP) pauses a ScaledObject with KEDA's own annotation and the start
restores it; another owner of the replicas is refused with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube import rest
from reclaimer.model import Action
from tests.executor.conftest import NS, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
PAUSED = "autoscaling.keda.sh/paused-replicas"
KEDA = {"serving.kserve.io/autoscalerClass": "keda"}
SCALED_OBJECT = rest.Kind("keda.sh", "v1alpha1", "scaledobjects")
HPA = rest.Kind("autoscaling", "v2", "horizontalpodautoscalers")
TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-predictor"}


def _crd(group: str, kind: str, plural: str, version: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                     "versions": [{"name": version, "served": True, "storage": True}]}}


KEDA_CRD = _crd("keda.sh", "ScaledObject", "scaledobjects", "v1alpha1")
ROLLOUT_CRD = _crd("argoproj.io", "Rollout", "rollouts", "v1alpha1")


def _scaled_object(paused: str | None = None) -> dict[str, Any]:
    annotations = {} if paused is None else {PAUSED: paused}
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "llama-predictor", "namespace": NS,
                         "annotations": annotations},
            "spec": {"scaleTargetRef": {"name": "llama-predictor"}, "minReplicaCount": 1,
                     "maxReplicaCount": 3, "triggers": [{"type": "cpu"}]}}


def _keda(make_harness: MakeHarness, *extra: dict[str, Any],
          paused: str | None = None) -> Harness:
    return make_harness("0.14", isvc_entry(annotations=KEDA),
                        objects=(KEDA_CRD, _scaled_object(paused), *extra))


def _pause_of(h: Harness) -> str | None:
    so = h.rest.get(SCALED_OBJECT, NS, "llama-predictor")
    return (so["metadata"].get("annotations") or {}).get(PAUSED)


def _replicas(h: Harness) -> int:
    return int(h.rest.get(rest.DEPLOYMENT, NS, "llama-predictor")["spec"].get("replicas", 1))


def test_case8_a_managed_stop_pauses_the_scaled_object_to_zero(
        make_harness: MakeHarness) -> None:
    h = _keda(make_harness)
    outcome = h.apply(Action.STOP)
    h.settle()
    saved = h.ledger.load_restore_info(h.ref(), h.isvc()["metadata"]["uid"]) or {}
    assert (outcome.kind, _pause_of(h), _replicas(h)) == (OutcomeKind.APPLIED, "0", 0)
    assert (saved.get("scaledObjects"), saved.get("autoscalerClass")) == (
        {"llama-predictor": None}, "keda")
    assert "paused with autoscaling.keda.sh/paused-replicas" in outcome.message


@pytest.mark.parametrize("earlier", [
    pytest.param(None, id="no-pause-before"),
    pytest.param("2", id="a-persons-pause-before"),
])
def test_case8_the_start_restores_the_scaled_objects_pause(make_harness: MakeHarness,
                                                          earlier: str | None) -> None:
    h = _keda(make_harness, paused=earlier)
    h.apply(Action.STOP)
    h.settle()
    started = h.apply(Action.START)
    h.settle()
    annotations = h.isvc()["metadata"].get("annotations") or {}
    assert (started.kind, _pause_of(h)) == (OutcomeKind.APPLIED, earlier)
    assert annotations.get("serving.kserve.io/autoscalerClass") == "keda"


def test_case8_keda_s_own_hpa_is_no_refusal(make_harness: MakeHarness) -> None:
    h = _keda(make_harness)
    so = h.rest.get(SCALED_OBJECT, NS, "llama-predictor")
    owner = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "controller": True,
             "name": "llama-predictor", "uid": so["metadata"]["uid"]}
    h.rest.request("POST", HPA.path(NS), body=_hpa("keda-hpa-llama-predictor", owner))
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED


def _hpa(name: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta,
            "spec": {"scaleTargetRef": TARGET, "minReplicas": 1, "maxReplicas": 3}}


ROLLOUT = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
           "metadata": {"name": "llama-canary", "namespace": NS},
           "spec": {"workloadRef": TARGET, "strategy": {"canary": {}}}}


@pytest.mark.parametrize(("objects", "names"), [
    pytest.param((_hpa("llama-custom"),), "HorizontalPodAutoscaler team-a/llama-custom",
                 id="an-hpa-not-made-by-kserve"),
    pytest.param((ROLLOUT_CRD, ROLLOUT), "Argo Rollout team-a/llama-canary",
                 id="an-argo-rollout"),
])
def test_case8_another_owner_of_the_replicas_is_refused_before_any_write(
        make_harness: MakeHarness, objects: tuple[dict[str, Any], ...], names: str) -> None:
    h = make_harness("0.14", isvc_entry(), objects=objects)
    h.handle.request_log.clear()
    outcome = h.apply(Action.STOP)
    (event,) = h.events()
    assert (outcome.kind, h.states(), event["reason"]) == (
        OutcomeKind.FAILED, ["failed"], "ReclaimFailed")
    assert names in outcome.message and "does not fight" in outcome.message
    assert h.handle.request_log.count(verb="patch") == 0
    assert h.ledger.load_restore_info(h.ref(), h.isvc()["metadata"]["uid"]) is None
