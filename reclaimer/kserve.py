"""What reclaimer knows about KServe's objects, in one place: keys, names, the stop rule.

Every string KServe defines and reclaimer reads or writes (annotation keys, condition
types and reasons, deployment-mode names and their aliases, component names, the pod
label) is spelled here once, and so are the readers whose answer must be the same
everywhere: `stop_requested` (is a stop requested?), `mode_of` (which deployment mode?),
`own_stopped` (is this stop reclaimer's managed one?). The inventory, the executor,
recovery and the CLI all ask here, so none can disagree with KServe or with each other.
A contract test (tests/test_architecture.py) fails when another product module spells
``serving.kserve.io`` itself. The sandbox keeps its own copy on purpose: it plays KServe
and must not share reclaimer's reading of it.

**The stop switch.** KServe stops an object when ``metadata.annotations
["serving.kserve.io/stop"]`` equals ``"true"`` under Go's ``strings.EqualFold``
(``utils.GetForceStopRuntime``, ``pkg/utils/utils.go`` from v0.16.0; an ISVC method in
v0.15.1; ``reference/kserve_stop.md`` §2.1 and §9). There is no trimming and no webhook:
``"True"`` and ``"TRUE"`` stop, ``" true"``, ``"true "``, ``"yes"`` and ``"1"`` do not.
A value that a person clearly meant as a stop but KServe ignores (`odd_stop_value`) is
reported, never silently taken as one; a stop that reclaimer makes writes exactly
`STOP_VALUE`.

Pure: no I/O; imports only `reclaimer.model` and `reclaimer.ksm` (`ksm_label`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reclaimer.ksm import ksm_label
from reclaimer.model import DeploymentMode, ServiceKind

# Moved to `ksm`; still read from here.
__all__ = ["ksm_label"]

GROUP = "serving.kserve.io"
ISVC_VERSION = "v1beta1"
ISVC_API_VERSION = f"{GROUP}/{ISVC_VERSION}"


@dataclass(frozen=True)
class KindInfo:
    """Where a kind is served and how its pods say whose they are.

    ``pod_selector`` LISTs its pods; ``pod_owner`` is the label whose value is the
    object's name. ``since`` is the first KServe release whose controller reads the
    object's own ``serving.kserve.io/stop`` (``kserve_stop.md`` §1, §9)."""

    kind: ServiceKind
    version: str
    plural: str
    pod_selector: str
    pod_owner: str
    since: tuple[int, int]

    @property
    def api_version(self) -> str:
        return f"{GROUP}/{self.version}"


ISVC_LABEL = f"{GROUP}/inferenceservice"
GRAPH_LABEL = f"{GROUP}/inferencegraph"
"""On the router's Deployment and pods (``InferenceGraphLabel``,
``pkg/controller/v1alpha1/inferencegraph/raw_ig.go`` at v0.16.0)."""
LLM_NAME_LABEL = "app.kubernetes.io/name"
LLM_PART_OF = "app.kubernetes.io/part-of=llminferenceservice"
"""Every pod of an LLMInferenceService (workload, prefill, leader, worker, scheduler)
carries ``app.kubernetes.io/name=<name>`` and ``app.kubernetes.io/part-of=
llminferenceservice`` (``singleNodeLabels`` in ``pkg/controller/v1alpha2/llmisvc/
workload_single_node.go``, ``expectedMainMultiNodeLWS`` in ``workload_multi_node.go``,
``scheduler.go``; constants in ``pkg/constants/constants.go``, all at v0.17.0). Only
workload pods request GPUs; the scheduler's count zero."""
LLM_COMPONENT_LABEL = "app.kubernetes.io/component"
LLM_WORKLOAD_COMPONENTS = (
    "llminferenceservice-workload", "llminferenceservice-workload-prefill",
    "llminferenceservice-workload-worker", "llminferenceservice-workload-leader",
    "llminferenceservice-workload-worker-prefill", "llminferenceservice-workload-leader-prefill")
"""The ``app.kubernetes.io/component`` values of an LLMInferenceService's workload pods,
the ones that run vLLM and hold GPUs (``LLMComponentWorkload*`` in
``pkg/constants/constants.go``; set by ``singleNodeLabels``, ``expectedPrefillMain
Deployment``, ``expectedMainMultiNodeLWS``, all at v0.17.0). The router's scheduler is
``llminferenceservice-router-scheduler`` and serves no model."""
LLM_WORKLOAD_READY = "MainWorkloadReady"
"""An LLMInferenceService has no Stopped condition: on stop KServe marks this one (and
Ready) False with reason ``Stopped`` (``workload.go`` at v0.17.0)."""

KINDS = {info.kind: info for info in (
    KindInfo(ServiceKind.INFERENCE_SERVICE, ISVC_VERSION, "inferenceservices",
             ISVC_LABEL, ISVC_LABEL, (0, 15)),
    KindInfo(ServiceKind.LLM_INFERENCE_SERVICE, "v1alpha1", "llminferenceservices",
             LLM_PART_OF, LLM_NAME_LABEL, (0, 17)),
    KindInfo(ServiceKind.INFERENCE_GRAPH, "v1alpha1", "inferencegraphs",
             GRAPH_LABEL, GRAPH_LABEL, (0, 16)),
)}
_BY_NAME = {kind.value: kind for kind in ServiceKind}


def kind_of(obj: Mapping[str, Any]) -> ServiceKind:
    """The object's ``kind``; an object without one (a trimmed or hand-written dict) is
    an InferenceService, the only kind before issue 15."""
    return _BY_NAME.get(str(obj.get("kind") or ""), ServiceKind.INFERENCE_SERVICE)

# --- annotations (metadata.annotations keys) ---------------------------------------
STOP_ANNOTATION = f"{GROUP}/stop"
STOP_VALUE = "true"
# The managedFields path (fieldsV1) of the stop annotation: who last set it.
STOP_FIELD = ("f:metadata", "f:annotations", f"f:{STOP_ANNOTATION}")
MODE_ANNOTATION = f"{GROUP}/deploymentMode"
DISABLE_AUTO_UPDATE = f"{GROUP}/disable-auto-update"
AUTOSCALER_CLASS = f"{GROUP}/autoscalerClass"

# --- components of an InferenceService spec, in KServe's reconcile order ------------
PREDICTOR = "predictor"
COMPONENTS = (PREDICTOR, "transformer", "explainer")

# --- status conditions --------------------------------------------------------------
STOPPED = "Stopped"
READY = "Ready"
KSERVE_STOPPED_REASON = "Stopped"
"""The reason KServe ≥ 0.16 writes on Ready/PredictorReady/IngressReady of a stopped
object (``StoppedISVCReason``); its own Stopped condition carries no reason."""
OWN_STOP_REASON = "Reclaimed"
OWN_START_REASON = "Restored"
OWN_REASONS = frozenset({OWN_STOP_REASON, OWN_START_REASON})
"""Reasons reclaimer writes on its own Stopped condition (managed stop): a Stopped
condition with one of these is ours and says nothing about KServe's version."""

# --- deployment modes: KServe's names, old (≤ 0.15) and new (PR #4608) --------------
_MODE_ALIASES = {
    "knative": DeploymentMode.KNATIVE,
    "serverless": DeploymentMode.KNATIVE,
    "standard": DeploymentMode.STANDARD,
    "rawdeployment": DeploymentMode.STANDARD,
    "modelmesh": DeploymentMode.MODELMESH,
}


def stop_requested(value: object) -> bool:
    """``strings.EqualFold(value, "true")``; an absent or non-string value is no stop.

    No Unicode letter simple-folds to t, r, u or e, so Go's folding of this word is
    ASCII case-insensitivity, which is what is checked (Python's ``casefold`` would
    also map some non-ASCII spellings).
    """
    return isinstance(value, str) and value.isascii() and value.lower() == STOP_VALUE


def stop_requested_in(annotations: Mapping[str, object] | None) -> bool:
    """Whether an object's annotations ask KServe to stop it."""
    return stop_requested((annotations or {}).get(STOP_ANNOTATION))


def odd_stop_value(value: object) -> str | None:
    """Why a value that looks like a stop is none for KServe (``" true"``, ``"true\\n"``);
    None for a real stop, an absent annotation, or a value that does not look like one."""
    if not isinstance(value, str) or stop_requested(value):
        return None
    if value.strip().lower() != STOP_VALUE:
        return None
    return (f'{STOP_ANNOTATION} is {value!r}: KServe reads only an exact, case-insensitive '
            f'"true" (no trimming), so this value does not stop the service')


def odd_stop_in(annotations: Mapping[str, object] | None) -> str | None:
    return odd_stop_value((annotations or {}).get(STOP_ANNOTATION))


def auto_update_disabled_in(annotations: Mapping[str, object] | None) -> bool:
    """``disable-auto-update: "true"``: KServe then skips a Ready object's reconcile, so
    a stop annotation would do nothing. KServe compares exactly; any spelling of true is
    taken here, which errs towards refusing a stop rather than writing a dead one."""
    value = (annotations or {}).get(DISABLE_AUTO_UPDATE, "")
    return isinstance(value, str) and value.strip().lower() == "true"


def parse_mode(text: object) -> DeploymentMode | None:
    """Map any KServe spelling (``Serverless``, ``RawDeployment``, ...) to a mode."""
    if not isinstance(text, str) or not text:
        return None
    return _MODE_ALIASES.get(text.strip().lower())


def mode_of(obj: Mapping[str, Any], *, default: DeploymentMode) -> DeploymentMode:
    """The annotation, then ``status.deploymentMode``, then the cluster default.

    KServe itself prefers status (``kserve_stop.md`` §3); the two differ only when the
    annotation was edited after creation, which KServe's webhook rejects. Parts of the
    wrong shape are skipped, never raised on."""
    annotations = _mapping(_mapping(obj.get("metadata")).get("annotations"))
    status = _mapping(obj.get("status"))
    return (parse_mode(annotations.get(MODE_ANNOTATION))
            or parse_mode(status.get("deploymentMode")) or default)


def status_mode_name(obj: Mapping[str, Any]) -> str:
    """``status.deploymentMode`` as KServe spelled it: old names up to 0.15 (PR #4608)."""
    return str(_mapping(obj.get("status")).get("deploymentMode") or "")


def condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    """The status condition of that type, or None (also for malformed status)."""
    found = _mapping(obj.get("status")).get("conditions")
    for item in found if isinstance(found, list) else ():
        if isinstance(item, Mapping) and item.get("type") == ctype:
            return item
    return None


def is_true(obj: Mapping[str, Any], ctype: str) -> bool:
    found = condition(obj, ctype)
    return found is not None and found.get("status") == "True"


def stop_done(obj: Mapping[str, Any]) -> bool:
    """KServe says the stop is done: ``Stopped=True`` on an InferenceService or an
    InferenceGraph, `LLM_WORKLOAD_READY` False with reason Stopped on an LLMISVC."""
    if kind_of(obj) is not ServiceKind.LLM_INFERENCE_SERVICE:
        return is_true(obj, STOPPED)
    found = condition(obj, LLM_WORKLOAD_READY)
    return (found is not None and found.get("status") == "False"
            and found.get("reason") == KSERVE_STOPPED_REASON)


def own_stopped(obj: Mapping[str, Any]) -> bool:
    """Reclaimer's managed stop is in place: our Stopped=True condition, reason
    `OWN_STOP_REASON` (KServe's own Stopped condition never has a reason)."""
    found = condition(obj, STOPPED)
    return (found is not None and found.get("status") == "True"
            and found.get("reason") == OWN_STOP_REASON)


def kserve_writes_stopped(obj: Mapping[str, Any]) -> bool:
    """KServe's own Stopped condition is on this ISVC: KServe ≥ 0.16 writes it on every
    ISVC but ModelMesh, 0.15.1/0.15.2 on Knative ISVCs only, always without a reason
    (``kserve_stop.md`` §9). One with a reason is ours (`OWN_REASONS`) or another
    tool's, and says nothing about what KServe's annotation stops."""
    found = condition(obj, STOPPED)
    return found is not None and not found.get("reason")


def graph_members(obj: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The InferenceServices an InferenceGraph routes to: every step's ``serviceName``
    (``spec.nodes.<node>.steps[]``, ``InferenceStep`` in ``pkg/apis/serving/v1alpha1/
    inference_graph.go`` at v0.16.0; ``nodeName`` steps point at other nodes of the
    graph). None when a step names a ``serviceUrl`` (outside reclaimer's sight), a step or
    node has the wrong shape, or no step names a service: then the graph's members are
    unknown and it is never stopped with them."""
    nodes = _mapping(obj.get("spec")).get("nodes")
    members: list[str] = []
    for node in nodes.values() if isinstance(nodes, Mapping) else ():
        steps = node.get("steps") if isinstance(node, Mapping) else None
        for step in steps if isinstance(steps, list) else [None]:
            if not isinstance(step, Mapping) or step.get("serviceUrl"):
                return None
            name = step.get("serviceName")
            if isinstance(name, str) and name:
                members.append(name)
            elif not step.get("nodeName"):
                return None
    return tuple(sorted(set(members))) or None


# --- ModelMesh: the ServingRuntime whose shared Deployment serves an ISVC -------------
RUNTIME_VERSION = "v1alpha1"
RUNTIME_PLURAL = "servingruntimes"
RUNTIME_ANNOTATION = f"{GROUP}/servingRuntime"
"""The runtime of an ISVC written with a framework spec (modelmesh-serving's
``runtimeAnnotation``, ``pkg/predictor_source/inferenceservice_registry.go`` at 9c7a2b7);
one with ``predictor.model`` names it in ``model.runtime`` instead."""
MODELMESH_SERVICE = "modelmesh-serving"
"""The default ``InferenceServiceName`` of modelmesh-serving's config: its runtime
Deployment is ``<this>-<runtime>`` (``controllers/servingruntime_controller.go``)."""


def runtime_of(obj: Mapping[str, Any]) -> str | None:
    """The ServingRuntime a ModelMesh ISVC names, or None: then modelmesh-serving picks
    one by model format, and reclaimer cannot tell which (so it assumes any)."""
    predictor = _mapping(_mapping(obj.get("spec")).get(PREDICTOR))
    named = _mapping(predictor.get("model")).get("runtime")
    if isinstance(named, str) and named:
        return named
    annotated = _mapping(_mapping(obj.get("metadata")).get("annotations")).get(
        RUNTIME_ANNOTATION)
    return annotated if isinstance(annotated, str) and annotated else None


def runtime_deployment(runtime: str) -> str:
    return f"{MODELMESH_SERVICE}-{runtime}"


def components(obj: Mapping[str, Any]) -> list[str]:
    """The ISVC components present in the spec, predictor first."""
    spec = _mapping(obj.get("spec"))
    return [name for name in COMPONENTS if isinstance(spec.get(name), Mapping)]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
