"""Never fight a person: a managed Standard start puts back only what the stop changed.

The stop records, before its first write, which component Deployments it scales to 0
and from what (``scaled`` in the restore information). A start writes back only those,
and each only while it still holds the 0 the stop wrote, with the Deployment's
resourceVersion as read (compare-and-set, as `putback` does for a rollback). A value a
person set while the service was stopped, or while the start was under way, stays, and
the row and the ``Restored`` Event name it. Sandbox over HTTP; the person's writes go
through the same API server.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube import rest
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry
from tests.executor.test_keda import _while_held

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
CLASS = "serving.kserve.io/autoscalerClass"
LATER = T0 + timedelta(hours=13)


def _replicas(h: Harness) -> dict[str, Any]:
    return {d["metadata"]["name"]: d["spec"].get("replicas")
            for d in h.cluster.component_deployments(h.ref())}


def _stopped(make_harness: MakeHarness, **entry: Any) -> Harness:
    h = make_harness("0.15", isvc_entry(transformer=True, **entry))
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()
    return h


def _restored_event(h: Harness) -> str:
    (event,) = [e for e in h.events() if e["reason"] == "Restored"]
    return str(event["message"])


def test_a_start_leaves_replicas_a_person_set_while_stopped_and_names_them(
        make_harness: MakeHarness) -> None:
    """The class is the person's own ``external`` (KServe's HPA would otherwise own the
    replicas again once the class is back)."""
    h = _stopped(make_harness, annotations={CLASS: "external"})
    h.cluster.scale_deployment(NS, "llama-predictor", 3)
    h.settle()
    start = h.apply(Action.START, at=LATER)
    h.settle()
    said = ("left as found, changed by someone since the stop: Deployment "
            "llama-predictor replicas 3 (saved 1)")
    assert (start.kind, _replicas(h)) == (
        OutcomeKind.APPLIED, {"llama-predictor": 3, "llama-transformer": 1})
    assert (said in start.message, said in _restored_event(h)) == (True, True)


def test_a_start_never_touches_a_deployment_the_stop_did_not_scale(
        make_harness: MakeHarness) -> None:
    """A person runs the replicas by hand (class ``external``), the transformer at 0.
    The stop scales only the predictor; while stopped, the person starts the
    transformer. The start puts the predictor back and leaves the transformer running
    (it used to scale it back to the 0 saved before the stop)."""
    h = make_harness("0.15", isvc_entry(transformer=True, annotations={CLASS: "external"}))
    h.cluster.scale_deployment(NS, "llama-transformer", 0)
    h.settle()
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()
    h.cluster.scale_deployment(NS, "llama-transformer", 2)
    h.settle()
    start = h.apply(Action.START, at=LATER)
    h.settle()
    assert (start.kind, _replicas(h), st.annotations_of(h.isvc()).get(CLASS)) == (
        OutcomeKind.APPLIED, {"llama-predictor": 1, "llama-transformer": 2}, "external")


def test_a_start_leaves_a_value_a_person_writes_between_its_read_and_its_write(
        make_harness: MakeHarness) -> None:
    """The start read the predictor at 0; before its scale lands, a person scales it
    to 0 -> 2 themselves. The start's write carries the resourceVersion it read: a 409,
    read again, no longer the stop's 0: left, and named."""
    h = _stopped(make_harness, annotations={CLASS: "external"})
    held = h.handle.faults.add("patch", "deployments", NS, "llama-predictor", delay=1.0)
    start = _while_held(held, lambda: h.apply(Action.START, at=LATER),
                        lambda: h.rest.merge_patch(
                            rest.DEPLOYMENT, NS, "llama-predictor", {"spec": {"replicas": 2}},
                            subresource="scale"))
    h.settle()
    assert (start.kind, _replicas(h)["llama-predictor"]) == (OutcomeKind.APPLIED, 2)
    assert "Deployment llama-predictor replicas 2 (saved 1)" in start.message
