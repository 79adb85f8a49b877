"""Kept cache entries give the inventory exactly what whole objects give, and no more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reclaimer.kube.isvc import service_from_isvc
from reclaimer.kube.trim import keep_isvc, keep_pod, pod_gpus, trim_isvc
from reclaimer.model import DeploymentMode, ServiceRef

INVENTORY = Path(__file__).resolve().parents[2] / "examples" / "inventory.yaml"
STOP_OWNER = {"manager": "kubectl-annotate", "operation": "Update", "time": "2030-01-01T21:00:00Z",
              "fieldsV1": {"f:metadata": {"f:annotations": {"f:serving.kserve.io/stop": {}}}}}
OTHER_OWNER = {"manager": "kserve", "operation": "Update", "time": "2030-01-01T22:00:00Z",
               "fieldsV1": {"f:status": {"f:conditions": {}}}}


def _isvcs() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load(INVENTORY.read_text())["items"]
    items[0]["metadata"]["managedFields"] = [STOP_OWNER, OTHER_OWNER]
    return items


@pytest.mark.parametrize("obj", _isvcs(), ids=lambda o: o["metadata"]["name"])
def test_trimmed_isvc_maps_to_the_same_service(obj: dict[str, Any]) -> None:
    mode = DeploymentMode.KNATIVE
    assert service_from_isvc(trim_isvc(obj), default_mode=mode) == service_from_isvc(
        obj, default_mode=mode)


def test_only_the_stop_annotations_owners_are_kept() -> None:
    trimmed = trim_isvc(_isvcs()[0])
    assert [e["manager"] for e in trimmed["metadata"]["managedFields"]] == ["kubectl-annotate"]


@pytest.mark.parametrize("obj", _isvcs(), ids=lambda o: o["metadata"]["name"])
def test_kept_isvc_holds_the_service_of_the_whole_object(obj: dict[str, Any]) -> None:
    mode = DeploymentMode.STANDARD
    assert keep_isvc(obj, default_mode=mode).service == service_from_isvc(obj, default_mode=mode)


@pytest.mark.parametrize("obj", _isvcs(), ids=lambda o: o["metadata"]["name"])
def test_kept_isvc_decodes_to_the_trimmed_object(obj: dict[str, Any]) -> None:
    assert keep_isvc(obj, default_mode=DeploymentMode.KNATIVE).object() == trim_isvc(obj)


def test_each_decode_is_a_fresh_dict() -> None:
    kept = keep_isvc(_isvcs()[0], default_mode=DeploymentMode.KNATIVE)
    kept.object()["metadata"]["name"] = "changed"
    assert kept.object()["metadata"]["name"] != "changed"


def test_an_isvc_that_does_not_map_is_kept_without_a_service() -> None:
    obj = {**_isvcs()[0], "metadata": {"name": "x", "namespace": "team-a"}}
    kept = keep_isvc(obj, default_mode=DeploymentMode.KNATIVE)
    assert (kept.service, kept.object()["metadata"]["name"]) == (None, "x")


POD = {"metadata": {"name": "p", "namespace": "team-a",
                    "labels": {"serving.kserve.io/inferenceservice": "llama"}},
       "spec": {"containers": [{"name": "c", "image": "x", "env": [{"name": "E"}],
                                "resources": {"limits": {"nvidia.com/gpu": "2"}}},
                               {"name": "sidecar", "resources": {"limits": ["odd"]}}],
                "volumes": [{"name": "v"}]},
       "status": {"phase": "Running"}}


@pytest.mark.parametrize(("metadata", "kept"), [
    pytest.param({}, (ServiceRef("team-a", "llama"), 2), id="serving"),
    pytest.param({"deletionTimestamp": "2030-01-01T00:00:00Z"}, None, id="being-deleted"),
    pytest.param({"labels": {"app": "x"}}, None, id="no-isvc-label"),
])
def test_a_pod_is_kept_as_its_service_and_gpu_count(metadata: dict[str, Any],
                                                     kept: object) -> None:
    pod = {**POD, "metadata": {"name": "p", "namespace": "team-a",
                               "labels": {"serving.kserve.io/inferenceservice": "llama"},
                               **metadata}}
    assert keep_pod(pod) == kept


def test_pod_gpus_ignores_malformed_resources() -> None:
    assert pod_gpus(POD) == 2
