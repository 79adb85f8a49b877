"""One stop/start/verify matrix over every simulated KServe and every mode it supports.

Each row: a schedule-like stop, verified once the pods are gone; a start, verified once
the ISVC is Ready with its pods back. The strategy is the one `strategy.choose` must
pick for that ISVC on that KServe (``kserve_stop.md`` §9), with KServe's version read
from its controller Deployment or, when that cannot be read, from the ISVC's status.
ModelMesh rows expect the refusal KServe's lack of a per-ISVC stop calls for. Not in the
matrix because reclaimer does not govern them yet: InferenceGraph and LLMInferenceService
(the sandbox simulates both; issue 15 items 2 and 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.kserve_version import controller_version
from reclaimer.model import Action
from tests.executor.conftest import MakeHarness, isvc_entry

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
]
SOURCES = [pytest.param("controller", id="version-from-controller"),
           pytest.param("status", id="version-from-status")]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("row", ROWS)
def test_stop_start_verify(make_harness: MakeHarness, row: Row, source: str) -> None:
    strategy = row.strategy
    h = make_harness(row.kserve, isvc_entry(mode=row.mode, **row.entry),
                     scenario={"keda": True} if "load" in row.entry else None)
    if source == "controller":
        h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.kind, stop.strategy) == (OutcomeKind.APPLIED, strategy)
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.cluster.pod_counts().get(h.ref(), 0) == 0
    start = h.apply(Action.START)
    h.settle()
    assert (start.kind, start.strategy) == (OutcomeKind.APPLIED, strategy)
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.cluster.pod_counts().get(h.ref(), 0) == row.running


@pytest.mark.parametrize("kserve", ["0.14", "0.15", "0.16", "0.17"])
def test_modelmesh_is_refused_on_every_release(make_harness: MakeHarness, kserve: str) -> None:
    h = make_harness(kserve, isvc_entry(mode="ModelMesh"))
    outcome = h.apply(Action.STOP)
    assert (outcome.kind, "modelmesh" in outcome.message.lower()) == (OutcomeKind.FAILED, True)
    assert h.cluster.pod_counts().get(h.ref(), 0) == 0  # ModelMesh runs no per-ISVC pods
