"""One stop/start/verify matrix over every simulated KServe and every mode it supports.

Each row: a schedule-like stop, verified once the pods are gone; a start, verified once
the ISVC is Ready with its pods back. The strategy is the one `strategy.choose` must
pick for that ISVC on that KServe (``kserve_stop.md`` §9), with KServe's version read
from its controller Deployment or, when that cannot be read, from the ISVC's status.
ModelMesh rows expect the refusal KServe's lack of a per-ISVC stop calls for.
InferenceGraph (Knative and Standard, KServe >= 0.16) and LLMInferenceService (>= 0.17)
rows stop and start that object, beside an InferenceService ``llama`` (the graph's
member); on an older KServe they are refused with the reason, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.isvc import ref_of
from reclaimer.kube.kserve_version import controller_version
from reclaimer.model import Action
from tests.executor.conftest import Harness, MakeHarness, isvc_entry
from tests.executor.test_other_kinds import GRAPH_OBJ, LLM_OBJ
from tests.executor.test_other_kinds import _apply as apply_to

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
KEDA = {"serving.kserve.io/autoscalerClass": "keda"}
KEDA_ENTRY = {"annotations": KEDA, "minReplicas": 1, "maxReplicas": 3, "load": 2}

@dataclass(frozen=True)
class Row:
    kserve: str
    mode: str
    entry: dict[str, Any]
    strategy: str
    running: int
    """Pods once started again."""
    other: dict[str, Any] | None = None
    """An LLMInferenceService or InferenceGraph to stop and start instead of ``llama``."""


def _graph(mode: str) -> dict[str, Any]:
    meta = GRAPH_OBJ["metadata"]
    return {**GRAPH_OBJ, "metadata": {**meta, "annotations": {
        "serving.kserve.io/deploymentMode": mode}}}


ROWS = [
    pytest.param(Row("0.14", "Knative", {}, "managed-knative", 1), id="0.14-knative"),
    pytest.param(Row("0.14", "Standard", {}, "managed-raw", 1), id="0.14-standard"),
    pytest.param(Row("0.14", "Knative", {"transformer": True}, "managed-knative", 2),
                 id="0.14-knative-transformer"),
    pytest.param(Row("0.14", "Standard", {"explainer": True}, "managed-raw", 2),
                 id="0.14-standard-explainer"),
    pytest.param(Row("0.15", "Knative", {}, "native", 1), id="0.15-knative"),
    pytest.param(Row("0.15", "Standard", {}, "managed-raw", 1), id="0.15-standard"),
    pytest.param(Row("0.15", "Knative", {"transformer": True}, "native-predictor", 2),
                 id="0.15-knative-transformer"),
    pytest.param(Row("0.15", "Standard", {"transformer": True}, "managed-raw", 2),
                 id="0.15-standard-transformer"),
    pytest.param(Row("0.15", "Standard", KEDA_ENTRY, "managed-raw", 2), id="0.15-keda"),
    pytest.param(Row("0.16", "Knative", {}, "native", 1), id="0.16-knative"),
    pytest.param(Row("0.16", "Standard", {}, "native", 1), id="0.16-standard"),
    pytest.param(Row("0.16", "Knative", {"transformer": True}, "native", 2),
                 id="0.16-knative-transformer"),
    pytest.param(Row("0.16", "Standard", {"explainer": True}, "native", 2),
                 id="0.16-standard-explainer"),
    pytest.param(Row("0.16", "Standard", KEDA_ENTRY, "native", 2), id="0.16-keda"),
    pytest.param(Row("0.17", "Knative", {"transformer": True}, "native", 2),
                 id="0.17-knative-transformer"),
    pytest.param(Row("0.17", "Standard", {"explainer": True}, "native", 2),
                 id="0.17-standard-explainer"),
    pytest.param(Row("0.17", "Standard", KEDA_ENTRY, "native", 2), id="0.17-keda"),
    pytest.param(Row("0.16", "Standard", {}, "native", 1, _graph("Knative")),
                 id="0.16-graph-knative"),
    pytest.param(Row("0.16", "Standard", {}, "native", 1, _graph("Standard")),
                 id="0.16-graph-standard"),
    pytest.param(Row("0.17", "Knative", {}, "native", 1, _graph("Standard")),
                 id="0.17-graph-standard"),
    pytest.param(Row("0.17", "Standard", {}, "native", 2, LLM_OBJ), id="0.17-llmisvc"),
]
SOURCES = [pytest.param("controller", id="version-from-controller"),
           pytest.param("status", id="version-from-status")]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("row", ROWS)
def test_stop_start_verify(make_harness: MakeHarness, row: Row, source: str) -> None:
    strategy = row.strategy
    scenario = {**({"keda": True} if "load" in row.entry else {}),
                **({"objects": [row.other]} if row.other else {})}
    h = make_harness(row.kserve, isvc_entry(mode=row.mode, **row.entry), scenario=scenario)
    if source == "controller":
        h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    ref = ref_of(row.other) if row.other else h.ref()
    stop = _act(h, row, Action.STOP)
    h.settle()
    assert (stop.kind, stop.strategy) == (OutcomeKind.APPLIED, strategy)
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.cluster.pod_counts().get(ref, 0) == 0
    start = _act(h, row, Action.START)
    h.settle()
    assert (start.kind, start.strategy) == (OutcomeKind.APPLIED, strategy)
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.cluster.pod_counts().get(ref, 0) == row.running


def _act(h: Harness, row: Row, action: Action) -> Any:
    return apply_to(h, ref_of(row.other), action) if row.other else h.apply(action)


@pytest.mark.parametrize(("kserve", "other"), [
    pytest.param("0.14", GRAPH_OBJ, id="0.14-graph"),
    pytest.param("0.15", GRAPH_OBJ, id="0.15-graph"),
    pytest.param("0.14", LLM_OBJ, id="0.14-llmisvc"),
    pytest.param("0.15", LLM_OBJ, id="0.15-llmisvc"),
    pytest.param("0.16", LLM_OBJ, id="0.16-llmisvc"),
])
def test_other_kinds_are_refused_before_kserve_stops_them(
        make_harness: MakeHarness, kserve: str, other: dict[str, Any]) -> None:
    h = make_harness(kserve, isvc_entry(), scenario={"objects": [other]})
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    outcome = apply_to(h, ref_of(other), Action.STOP)
    annotations = h.cluster.get_isvc(ref_of(other))["metadata"].get("annotations") or {}
    assert (outcome.kind, "serving.kserve.io/stop" in annotations) == (OutcomeKind.FAILED,
                                                                      False)


@pytest.mark.parametrize("kserve", ["0.14", "0.15", "0.16", "0.17"])
def test_modelmesh_is_refused_on_every_release(make_harness: MakeHarness, kserve: str) -> None:
    h = make_harness(kserve, isvc_entry(mode="ModelMesh"))
    outcome = h.apply(Action.STOP)
    assert (outcome.kind, "modelmesh" in outcome.message.lower()) == (OutcomeKind.FAILED, True)
    assert h.cluster.pod_counts().get(h.ref(), 0) == 0  # ModelMesh runs no per-ISVC pods
