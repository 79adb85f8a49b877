"""Knative revisions as Knative does them, and GPUs per node pool (issue 15, item 7)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from sandbox_tests.simkit import GROUP, NS, PLURAL, VERSION, conditions, isvc, pods
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _world(make_sandbox: MakeSandbox, **extra: Any) -> SandboxHandle:
    return make_sandbox({"kserve": "0.14", "timeScale": 0.01, "namespaces": [NS],
                         "inferenceServices": [{"namespace": NS, "name": "llama",
                                                "mode": "Knative", "gpus": 1}], **extra})


def _scale_to_zero(h: SandboxHandle) -> None:
    client.CustomObjectsApi(h.api_client).patch_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, "llama", {"spec": {"predictor": {"minReplicas": 0}}})
    h.wait_idle()


def _revisions(h: SandboxHandle) -> dict[str, str]:
    return {p.metadata.labels["serving.knative.dev/revision"]: p.status.phase
            for p in pods(h)}


def test_a_new_revision_starts_at_one_pod_then_scales_to_zero(
        make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox)
    since = h.world.store.resource_version
    _scale_to_zero(h)
    h.wait_idle(timeout=30, terminations=True)
    sub = h.world.store.subscribe(since=since)
    added: list[str] = []
    while (event := sub.get_shared(0)) is not None:
        meta = event.object.get("metadata") or {}
        if event.type == "ADDED" and event.rtype.plural == "pods":
            added.append(meta["labels"]["serving.knative.dev/revision"])
    sub.close()
    assert (added, _revisions(h)) == (["llama-predictor-00002"], {})
    assert conditions(isvc(h))["Ready"]["status"] == "True"  # served from zero


def test_with_no_free_gpu_the_new_revision_never_becomes_ready(
        make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox, gpuCapacity=1)
    _scale_to_zero(h)
    h.wait_idle(timeout=30, terminations=True)
    new = [p for p in pods(h)
           if p.metadata.labels["serving.knative.dev/revision"] == "llama-predictor-00002"]
    scheduled = {c.type: (c.status, c.reason) for c in new[0].status.conditions}
    assert _revisions(h) == {"llama-predictor-00001": "Running",
                             "llama-predictor-00002": "Pending"}
    assert scheduled["PodScheduled"] == ("False", "Unschedulable")


def test_a_pending_pod_is_scheduled_once_gpus_are_free(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox({"kserve": "0.16", "podTerminationSeconds": 0, "gpuCapacity": {"a100": 1},
                      "namespaces": [NS], "inferenceServices": [
                          {"namespace": NS, "name": n, "mode": "Standard", "gpus": 1,
                           "nodePool": "a100"} for n in ("first", "second")]})
    before = sorted(p.status.phase for n in ("first", "second") for p in pods(h, n))
    client.CustomObjectsApi(h.api_client).delete_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, "first")
    h.wait_idle(terminations=True)
    assert (before, [p.status.phase for p in pods(h, "second")]) == (
        ["Pending", "Running"], ["Running"])
