"""ModelMesh runtime-level reclaim on the sandbox over HTTP (docs/design.md §5).

The sandbox plays modelmesh-serving's ServingRuntime controller: one Deployment
``modelmesh-serving-<runtime>`` whose replicas follow the runtime's ``spec.replicas``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.errors import LedgerUnavailable
from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube import rest
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Reason
from tests.executor.conftest import NS, T0, Harness, MakeHarness
from tests.fixtures.failing_ledger import FailingLedger

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
RUNTIME = "triton"
DEPLOYMENT = f"modelmesh-serving-{RUNTIME}"


def _runtime() -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": RUNTIME, "namespace": NS},
            "spec": {"multiModel": True, "supportedModelFormats": [{"name": "onnx"}],
                     "containers": [{"name": "triton", "image": "nvcr.io/triton:sandbox",
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}


def _isvc(name: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": NS,
                         "annotations": {"serving.kserve.io/deploymentMode": "ModelMesh"}},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "onnx"},
                                             "runtime": RUNTIME,
                                             "storageUri": f"s3://models/{name}"}}}}


def _harness(make_harness: MakeHarness, *names: str) -> Harness:
    h = make_harness("0.16", scenario={"objects": [_runtime(), *map(_isvc, names)]})
    h.settle()
    return h


def _replicas(h: Harness) -> tuple[Any, int]:
    """The runtime's spec.replicas (None when absent) and its Deployment's replicas."""
    runtime = h.rest.get(rest.SERVING_RUNTIME, NS, RUNTIME)
    deployment = h.rest.get(rest.DEPLOYMENT, NS, DEPLOYMENT)
    return runtime["spec"].get("replicas"), deployment["spec"]["replicas"]


def _stop_all(h: Harness, *names: str) -> list[OutcomeKind]:
    outcomes = h.executor.apply_many([h.transition(Action.STOP, n) for n in names], at=T0)
    h.settle()
    return [o.kind for o in outcomes]


def test_a_shared_runtime_is_refused_with_the_other_service(make_harness: MakeHarness) -> None:
    h = _harness(make_harness, "a", "b")
    outcome = h.apply(Action.STOP, "a")
    assert (outcome.kind, outcome.message.endswith(
        f"refused: runtime {RUNTIME} also serves {NS}/b"), _replicas(h)) == (
        OutcomeKind.FAILED, True, (None, 2))


def test_every_user_stopped_in_one_tick_scales_the_runtime_to_zero(
        make_harness: MakeHarness) -> None:
    h = _harness(make_harness, "a", "b")
    kinds = _stop_all(h, "a", "b")
    verified = [o.kind for o in h.follow_up()]
    assert (kinds, _replicas(h), verified) == (
        [OutcomeKind.APPLIED] * 2, (0, 0), [OutcomeKind.VERIFIED] * 2)


def test_a_start_restores_the_runtime_and_ends_every_stop_on_it(
        make_harness: MakeHarness) -> None:
    h = _harness(make_harness, "a", "b")
    _stop_all(h, "a", "b")
    h.follow_up()
    stopped = (_replicas(h), st.own_stopped(h.isvc("b")))
    h.apply(Action.START, "a")
    h.settle()
    assert (stopped, _replicas(h), st.own_stopped(h.isvc("a")), st.own_stopped(h.isvc("b"))
            ) == (((0, 0), True), (None, 2), False, False)


def test_a_runtime_scaled_by_a_person_while_stopped_is_left_as_they_set_it(
        make_harness: MakeHarness) -> None:
    h = _harness(make_harness, "a")
    _stop_all(h, "a")
    h.rest.merge_patch(rest.SERVING_RUNTIME, NS, RUNTIME, {"spec": {"replicas": 1}})
    outcome = h.apply(Action.START, "a")
    h.settle()
    assert (_replicas(h), "a person changed it" in outcome.message) == ((1, 1), True)


def test_the_runtime_deployment_scaled_by_hand_is_scaled_back_by_modelmesh(
        make_harness: MakeHarness) -> None:
    """Why the lever is the ServingRuntime: its controller owns the Deployment."""
    h = _harness(make_harness, "a")
    h.rest.merge_patch(rest.DEPLOYMENT, NS, DEPLOYMENT, {"spec": {"replicas": 0}},
                       subresource="scale")
    h.settle()
    assert _replicas(h) == (None, 2)


def test_the_stop_that_scales_the_runtime_records_its_gpus_and_the_others_none(
        make_harness: MakeHarness) -> None:
    """One runtime, two pods of one GPU: the report counts 2 GPUs once, not per user,
    and not as unknown (the ISVCs themselves declare no resources)."""
    h = _harness(make_harness, "a", "b")
    _stop_all(h, "a", "b")
    gpus = sorted(r.transition.gpus or 0 for r in h.ledger.history())
    report = h.ledger.report(since=T0, now=T0 + timedelta(hours=1))
    assert (gpus, report.total_gpu_hours, sum(r.unknown_gpus for r in report.by_namespace)
            ) == ([0, 2], 2.0, 0)


def _writes(h: Harness) -> int:
    """Every request but a read, Events included."""
    return sum(1 for r in h.handle.request_log.entries() if r.method not in ("GET", "HEAD"))


def test_a_non_leader_writes_nothing(make_harness: MakeHarness) -> None:
    h = _harness(make_harness, "a", "b")
    h.executor.guard = lambda: "not the leader"
    h.handle.request_log.clear()
    kinds = _stop_all(h, "a", "b")
    assert (kinds, _writes(h), h.states(), _replicas(h)) == (
        [OutcomeKind.SKIPPED] * 2, 0, [], (None, 2))


def test_a_lease_lost_after_the_chunks_check_leaves_the_runtime_alone(
        make_harness: MakeHarness) -> None:
    """The guard is asked again right before the runtime's write (`ctx.may_write`)."""
    h = _harness(make_harness, "a")
    answers = iter([None])
    h.executor.guard = lambda: next(answers, "lease lost")
    h.handle.request_log.clear()
    (kind,) = _stop_all(h, "a")
    assert (kind, h.handle.request_log.count(verb="patch", resource="servingruntimes"),
            h.states(), _replicas(h)) == (OutcomeKind.RETRY, 0, ["planned"], (None, 2))


def _drop_stopped_condition(h: Harness, name: str) -> None:
    """A status rewrite by another controller (or a person): our condition gone."""
    kept = [c for c in st.conditions(h.isvc(name)) if c.get("type") != "Stopped"]
    h.rest.merge_patch(rest.ISVC, NS, name, {"status": {"conditions": kept}},
                       subresource="status")


@pytest.mark.parametrize("successor", [pytest.param(False, id="this-process"),
                                       pytest.param(True, id="another-process")])
def test_a_runtime_stop_whose_condition_is_dropped_has_it_written_again(
        make_harness: MakeHarness, successor: bool) -> None:
    """Issue 15 review: the follow-up holds a ModelMesh stop in force like any managed
    stop (the ledger's stops in force, whoever made them): its runtime at 0 under
    reclaimer's record counts as stopped, and the missing condition is written again."""
    from reclaimer.executor.executor import Executor  # noqa: PLC0415

    h = _harness(make_harness, "a", "b")
    _stop_all(h, "a", "b")
    h.follow_up()
    executor = Executor(h.cluster, h.ledger, actor="successor") if successor else h.executor
    _drop_stopped_condition(h, "b")
    in_place = executor.managed_stops_in_place()
    executor.followup.run(at=T0 + timedelta(seconds=30))
    assert (sorted(r.name for r in in_place), st.own_stopped(h.isvc("b")), _replicas(h)) == (
        ["a", "b"], True, (0, 0))


def test_a_runtime_put_back_by_a_person_releases_the_stop(
        make_harness: MakeHarness) -> None:
    """The runtime scaled back up by hand, and the condition gone: the stop is no longer
    in place, so nothing writes the condition again."""
    h = _harness(make_harness, "a")
    _stop_all(h, "a")
    h.follow_up()
    h.rest.merge_patch(rest.SERVING_RUNTIME, NS, RUNTIME, {"spec": {"replicas": 1}})
    _drop_stopped_condition(h, "a")
    in_place = h.executor.managed_stops_in_place()
    h.follow_up(T0 + timedelta(seconds=30))
    assert (in_place, st.own_stopped(h.isvc("a"))) == (frozenset(), False)


def test_a_service_woken_by_anothers_start_is_booked_as_reclaimers_start(
        make_harness: MakeHarness) -> None:
    """Issue 15 review: ``b`` serves again because ``a``'s start brought the runtime
    back. Its start is reclaimer's (reason RuntimeWoken, naming ``a``, the trigger of
    ``a``'s start), so its stop is no longer in force and the loop never books the
    change as somebody's external start."""
    h = _harness(make_harness, "a", "b")
    _stop_all(h, "a", "b")
    h.follow_up()
    later = T0 + timedelta(hours=13)
    h.apply(Action.START, "a", at=later)
    (last,) = [r for r in sorted(h.ledger.history(name="b"), key=lambda r: r.id)][-1:]
    woken = last.transition
    assert (woken.action, woken.trigger.value, woken.reason.value, woken.evidence,
            last.actor, last.state.value) == (
        Action.START, "schedule", "RuntimeWoken", {"wokenBy": f"{NS}/a", "runtime": RUNTIME},
        "test-replica", "applied")
    assert [r.transition.ref.name for r in h.ledger.stops_in_force()] == []
    assert h.ledger.view(later).last_transitions[h.ref("b")].action is Action.START


def test_a_woken_start_whose_row_cannot_be_written_is_booked_by_the_retry(
        make_harness: MakeHarness, tmp_path: Path) -> None:
    """Crash at each step: ``a``'s start brings the runtime back and ends ``b``'s stop;
    the database refuses ``b``'s RuntimeWoken row (as a process killed right there
    would leave it). The retry of ``a``'s start must still book ``b``'s start: ``b``
    serves again, and a ledger left saying it is stopped (its last row the stop) would
    count its GPU-hours as saved and take its serving for somebody's external start."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    ledger = FailingLedger.open(url)
    try:
        h = make_harness("0.16", scenario={"objects": [_runtime(), _isvc("a"), _isvc("b")]},
                         ledger=ledger)
        h.settle()
        _stop_all(h, "a", "b")
        h.follow_up()
        later = T0 + timedelta(hours=13)
        ledger.fail_records = lambda t: t.reason is Reason.RUNTIME_WOKEN
        with pytest.raises(LedgerUnavailable):
            h.apply(Action.START, "a", at=later)
        ledger.fail_records = None
        again = h.apply(Action.START, "a", at=later + timedelta(seconds=30))
        rows = sorted(h.ledger.history(name="b"), key=lambda r: r.id)
        in_force = [r.transition.ref.name for r in h.ledger.stops_in_force()]
    finally:
        ledger.close()
    assert (again.kind, ledger.refused) == (OutcomeKind.APPLIED, 1)
    assert [(r.transition.action, r.transition.reason.value, r.state.value)
            for r in rows] == [(Action.STOP, "ScheduleStop", "verified"),
                               (Action.START, "RuntimeWoken", "applied")]
    assert in_force == []
