"""Which request metrics and pod map judge each KServe kind other than InferenceService.

An InferenceService is judged with the configured presets and ``podLabels``/``isvcLabel``
(`settings.py`). The other kinds' pods carry other labels and serve other metrics, so
each has a built-in profile here, asked as a second set of the same seven queries (only
when a policy with an idle rule or a deferring schedule governs a service of that kind):

- **LLMInferenceService** (KServe ≥ 0.17): its workload pods run vLLM (the ``vllm``
  preset: ``vllm:request_success_total`` counted, ``vllm:num_requests_running`` and
  ``vllm:num_requests_waiting`` as requests in flight; metrics.md §2.3, from
  vllm-project/vllm ``vllm/v1/metrics/loggers.py``). They are found through
  kube-state-metrics' ``kube_pod_labels`` by ``app.kubernetes.io/part-of=
  llminferenceservice`` and an ``app.kubernetes.io/component`` of the workload
  (`reclaimer.kserve.LLM_WORKLOAD_COMPONENTS`), and named by ``app.kubernetes.io/name``
  (KServe v0.17.0 ``pkg/controller/v1alpha2/llmisvc/workload_single_node.go``
  ``singleNodeLabels``). The scheduler pod is left out: it serves no model and holds no
  GPU, so GPUs are counted from the workload pods only. kube-state-metrics exports pod
  labels only when allowed (``--metric-labels-allowlist=pods=[app.kubernetes.io/name,
  app.kubernetes.io/part-of,app.kubernetes.io/component,...]``); without them no series
  maps to the service and it is unknown, never idle. Always raw queries: the shipped
  recording rules record the InferenceService pod map only.
- **InferenceGraph**: its router exports no metrics of its own (KServe v0.17.0
  ``cmd/router`` has no Prometheus endpoint), so it has no profile: an idle rule never
  judges a graph by traffic, only by its members (`policy.graphs`: stopped once all its
  member InferenceServices are), and `NO_SIGNALS` says so wherever the signals of one
  are shown (``plan``, ``signals``, the decision log); schedules govern graphs as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

from reclaimer.kserve import (
    LLM_COMPONENT_LABEL,
    LLM_NAME_LABEL,
    LLM_PART_OF,
    LLM_WORKLOAD_COMPONENTS,
    ksm_label,
)
from reclaimer.model import ServiceKind
from reclaimer.signals.presets import REQUEST_PRESETS, RequestPreset


@dataclass(frozen=True)
class KindProfile:
    """The request preset and the pod map (a ``kube_pod_labels`` selector and the label
    that names the service) of one kind."""

    kind: ServiceKind
    requests: RequestPreset
    pod_labels: str
    name_label: str


def _llm_pod_labels() -> str:
    part_of_key, part_of = LLM_PART_OF.split("=", 1)
    components = "|".join(LLM_WORKLOAD_COMPONENTS)
    return (f'kube_pod_labels{{{ksm_label(part_of_key)}="{part_of}",'
            f'{ksm_label(LLM_COMPONENT_LABEL)}=~"{components}"}}')


PROFILES: dict[ServiceKind, KindProfile] = {
    ServiceKind.LLM_INFERENCE_SERVICE: KindProfile(
        ServiceKind.LLM_INFERENCE_SERVICE, REQUEST_PRESETS["vllm"],
        pod_labels=_llm_pod_labels(), name_label=ksm_label(LLM_NAME_LABEL)),
}

NO_SIGNALS = {
    ServiceKind.INFERENCE_GRAPH: (
        "InferenceGraph has no request signal (its router exports no metrics): an idle "
        "rule stops a graph only once all its member InferenceServices are stopped; "
        "its schedule applies as usual"),
}
"""Why a kind is never judged by an idle rule, shown as the unknown signals' reason."""


def measured(kind: ServiceKind) -> bool:
    """Whether an evaluation can say anything about services of this kind."""
    return kind is ServiceKind.INFERENCE_SERVICE or kind in PROFILES
