"""service_from_isvc: a plain ISVC dict, as kubectl prints it, to a model.Service."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from kubernetes import client

from reclaimer.errors import InvalidInput
from reclaimer.kube.isvc import service_from_isvc
from reclaimer.model import DeploymentMode, ServiceRef, ServiceState
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

ISVC = yaml.safe_load("""
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: llama
  namespace: team-a
  uid: 6f1c0d2e-0000-4000-8000-000000000001
  creationTimestamp: "2026-01-05T09:30:00Z"
  labels: {tier: dev}
  annotations:
    serving.kserve.io/deploymentMode: RawDeployment
  managedFields:
    - manager: kubectl-client-side-apply
      operation: Update
      apiVersion: serving.kserve.io/v1beta1
      time: "2026-01-05T09:30:00Z"
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata: {f:annotations: {.: {}, f:serving.kserve.io/deploymentMode: {}}}
spec:
  predictor:
    minReplicas: 1
    model:
      modelFormat: {name: huggingface}
      resources:
        limits: {cpu: "4", memory: 24Gi, nvidia.com/gpu: "1"}
        requests: {cpu: "2", memory: 16Gi, nvidia.com/gpu: "1"}
status:
  deploymentMode: Standard
  conditions:
    - {type: PredictorReady, status: "True"}
    - {type: Ready, status: "True"}
    - {type: Stopped, status: "False"}
""")


def isvc(*, annotations: dict[str, Any] | None = None, conditions: list[Any] | None = None,
         status: Any = None, managed: list[Any] | None = None, spec: Any = None) -> dict[str, Any]:
    obj: dict[str, Any] = copy.deepcopy(ISVC)
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    if conditions is not None:
        obj["status"]["conditions"] = conditions
    if status is not None:
        obj["status"] = status
    if managed is not None:
        obj["metadata"]["managedFields"] = managed
    if spec is not None:
        obj["spec"] = spec
    return obj


def map_(obj: dict[str, Any], default: DeploymentMode = DeploymentMode.KNATIVE) -> Any:
    return service_from_isvc(obj, default_mode=default)


def test_identity_labels_and_creation() -> None:
    service = map_(ISVC)
    assert (service.ref, service.uid, service.created_at, dict(service.labels)) == (
        ServiceRef("team-a", "llama"), "6f1c0d2e-0000-4000-8000-000000000001",
        datetime(2026, 1, 5, 9, 30, tzinfo=UTC), {"tier": "dev"})


STOPPED_TRUE = {"type": "Stopped", "status": "True"}
STOPPED_FALSE = {"type": "Stopped", "status": "False"}


@pytest.mark.parametrize(("stop", "conditions", "state"), [
    pytest.param(None, [STOPPED_FALSE], ServiceState.RUNNING, id="no-annotation"),
    pytest.param("false", [STOPPED_FALSE], ServiceState.RUNNING, id="false"),
    pytest.param("yes", [], ServiceState.RUNNING, id="not-true-runs"),
    pytest.param(" true", [], ServiceState.RUNNING, id="padded-true-runs-like-kserve"),
    pytest.param("true", [STOPPED_TRUE], ServiceState.STOPPED, id="true-and-stopped"),
    pytest.param("TRUE", [STOPPED_TRUE], ServiceState.STOPPED, id="case-insensitive"),
    pytest.param("True", [STOPPED_FALSE], ServiceState.STOPPING, id="true-not-yet-stopped"),
    pytest.param("true", [], ServiceState.STOPPING, id="true-no-conditions"),
    pytest.param(None, [STOPPED_TRUE], ServiceState.RUNNING, id="resuming"),
    pytest.param(None, [{"type": "Stopped", "status": "True", "reason": "Reclaimed"}],
                 ServiceState.STOPPED, id="reclaimer-managed-stop"),
    pytest.param(True, [STOPPED_TRUE], ServiceState.UNKNOWN, id="non-string-value"),
    pytest.param("true", "Stopped", ServiceState.UNKNOWN, id="conditions-not-a-list"),
    pytest.param("true", ["Stopped"], ServiceState.UNKNOWN, id="condition-not-a-mapping"),
])
def test_state(stop: object, conditions: Any, state: ServiceState) -> None:
    annotations = {} if stop is None else {"serving.kserve.io/stop": stop}
    assert map_(isvc(annotations=annotations, conditions=conditions)).state is state


def test_annotations_not_a_mapping_is_unknown() -> None:
    obj = isvc()
    obj["metadata"]["annotations"] = ["serving.kserve.io/stop=true"]
    assert map_(obj).state is ServiceState.UNKNOWN


def test_status_not_a_mapping_is_unknown() -> None:
    assert map_(isvc(status="broken")).state is ServiceState.UNKNOWN


def test_no_status_yet_is_running() -> None:
    obj = isvc()
    del obj["status"]
    assert map_(obj).state is ServiceState.RUNNING


@pytest.mark.parametrize(("annotation", "status_mode", "default", "mode"), [
    pytest.param("Serverless", "Standard", DeploymentMode.STANDARD, DeploymentMode.KNATIVE,
                 id="annotation-first"),
    pytest.param(None, "RawDeployment", DeploymentMode.KNATIVE, DeploymentMode.STANDARD,
                 id="then-status"),
    pytest.param(None, None, DeploymentMode.KNATIVE, DeploymentMode.KNATIVE, id="then-default"),
    pytest.param("Bogus", "ModelMesh", DeploymentMode.KNATIVE, DeploymentMode.MODELMESH,
                 id="unknown-annotation-skipped"),
    pytest.param("knative", None, DeploymentMode.STANDARD, DeploymentMode.KNATIVE,
                 id="new-name-any-case"),
])
def test_mode(annotation: str | None, status_mode: str | None, default: DeploymentMode,
              mode: DeploymentMode) -> None:
    annotations = {} if annotation is None else {"serving.kserve.io/deploymentMode": annotation}
    status: dict[str, Any] = ({"conditions": []} if status_mode is None
                              else {"deploymentMode": status_mode})
    assert map_(isvc(annotations=annotations, status=status), default).mode is mode


def predictor(**body: Any) -> dict[str, Any]:
    return {"predictor": body}


@pytest.mark.parametrize(("spec", "gpus"), [
    pytest.param(ISVC["spec"], 1, id="model-limits"),
    pytest.param(predictor(minReplicas=2, model={"resources": {"limits": {
        "nvidia.com/gpu": 2}}}), 4, id="times-min-replicas"),
    pytest.param(predictor(minReplicas=0, model={"resources": {"limits": {
        "nvidia.com/gpu": 2}}}), 2, id="scale-to-zero-counts-one-replica"),
    pytest.param(predictor(containers=[{"name": "a", "resources": {"requests": {
        "amd.com/gpu": "1"}}}, {"name": "b", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]),
        2, id="containers-requests-and-limits"),
    pytest.param(predictor(pytorch={"resources": {"limits": {"nvidia.com/mig-1g.10gb": 1}}}),
                 1, id="legacy-framework-key-and-mig"),
    pytest.param(predictor(model={"resources": {"limits": {"cpu": "1"}}}), 0, id="cpu-only"),
    pytest.param(predictor(model={"modelFormat": {"name": "sklearn"}}), None,
                 id="no-resources-is-unknown"),
    pytest.param({}, None, id="no-predictor"),
])
def test_gpus(spec: Any, gpus: int | None) -> None:
    assert map_(isvc(spec=spec)).gpus == gpus


def entry(manager: str, time: str | None, *, stop: bool = True) -> dict[str, Any]:
    annotations: dict[str, Any] = {".": {}}
    if stop:
        annotations["f:serving.kserve.io/stop"] = {}
    out: dict[str, Any] = {"manager": manager, "operation": "Update", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:annotations": annotations}}}
    if time is not None:
        out["time"] = time
    return out


@pytest.mark.parametrize(("managed", "at", "by"), [
    pytest.param([], None, None, id="no-managed-fields"),
    pytest.param([entry("kubectl", "2026-01-06T10:00:00Z", stop=False)], None, None,
                 id="no-entry-owns-stop"),
    pytest.param([entry("reclaimer", "2026-01-06T18:00:00Z")],
                 datetime(2026, 1, 6, 18, 0, tzinfo=UTC), "reclaimer", id="one-owner"),
    pytest.param([entry("reclaimer", "2026-01-06T18:00:00Z"),
                  entry("kubectl-edit", "2026-01-06T21:15:00Z"),
                  entry("argocd", "2026-01-06T20:00:00Z", stop=False)],
                 datetime(2026, 1, 6, 21, 15, tzinfo=UTC), "kubectl-edit", id="latest-owner"),
    pytest.param([entry("kubectl", None)], None, None, id="entry-without-time"),
    pytest.param([entry("kubectl", "yesterday")], None, None, id="unparsable-time"),
    pytest.param(["garbage", {"manager": "x"}], None, None, id="malformed-entries"),
])
def test_stop_change_from_managed_fields(managed: list[Any], at: datetime | None,
                                         by: str | None) -> None:
    service = map_(isvc(managed=managed))
    assert (service.stop_changed_at, service.stop_changed_by) == (at, by)


@pytest.mark.parametrize(("path", "value", "field"), [
    pytest.param(("metadata", "uid"), None, "metadata.uid", id="uid"),
    pytest.param(("metadata", "name"), "", "metadata.name", id="name"),
    pytest.param(("metadata", "namespace"), None, "metadata.namespace", id="namespace"),
    pytest.param(("metadata", "creationTimestamp"), "soon", "metadata.creationTimestamp",
                 id="creation-unparsable"),
    pytest.param(("metadata", "creationTimestamp"), "2026-01-05T09:30:00", "creationTimestamp",
                 id="creation-without-zone"),
    pytest.param(("metadata", "labels"), ["tier"], "metadata.labels", id="labels"),
])
def test_missing_identity_names_the_field(path: tuple[str, str], value: object,
                                          field: str) -> None:
    obj = isvc()
    obj[path[0]][path[1]] = value
    with pytest.raises(InvalidInput, match=field):
        map_(obj)


def test_metadata_missing_names_it() -> None:
    with pytest.raises(InvalidInput, match="metadata"):
        map_({"kind": "InferenceService"})


def test_creation_timestamp_left_as_text_is_parsed() -> None:
    obj = isvc()
    obj["metadata"]["creationTimestamp"] = "2026-01-05T09:30:00+01:00"
    assert map_(obj).created_at == datetime(2026, 1, 5, 8, 30, tzinfo=UTC)


GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"


def _scenario(kserve: str) -> dict[str, Any]:
    return {"kserve": kserve, "defaultDeploymentMode": "Knative", "podTerminationSeconds": 0,
            "namespaces": ["team-a"],
            "inferenceServices": [{"namespace": "team-a", "name": "llama", "mode": "Standard",
                                   "gpus": 1, "labels": {"tier": "dev"}}]}


def _read(handle: SandboxHandle) -> dict[str, Any]:
    api = client.CustomObjectsApi(handle.api_client)
    obj = api.get_namespaced_custom_object(GROUP, VERSION, "team-a", PLURAL, "llama")
    assert isinstance(obj, dict)
    return obj


def _set_stop(handle: SandboxHandle, value: str | None) -> None:
    api = client.CustomObjectsApi(handle.api_client)
    body = {"metadata": {"annotations": {"serving.kserve.io/stop": value}}}
    api.patch_namespaced_custom_object(GROUP, VERSION, "team-a", PLURAL, "llama", body)
    handle.wait_idle(terminations=True)


@pytest.mark.integration
@pytest.mark.parametrize(("kserve", "after_stop"), [
    pytest.param("0.16", ServiceState.STOPPED, id="native-stop-reaches-stopped"),
    pytest.param("0.14", ServiceState.STOPPING, id="old-kserve-never-reports-stopped"),
])
def test_sandbox_isvc_through_a_stop_and_start(make_sandbox: MakeSandbox, kserve: str,
                                               after_stop: ServiceState) -> None:
    handle = make_sandbox(_scenario(kserve))
    handle.wait_idle()
    running = map_(_read(handle))
    assert (running.state, running.mode, dict(running.labels)) == (
        ServiceState.RUNNING, DeploymentMode.STANDARD, {"tier": "dev"})
    _set_stop(handle, "true")
    assert map_(_read(handle)).state is after_stop
    _set_stop(handle, None)
    assert map_(_read(handle)).state is ServiceState.RUNNING
