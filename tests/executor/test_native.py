"""Native stop on a KServe 0.16 sandbox: the annotation, verification, Events, metadata."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube import rest
from reclaimer.model import Action, Reason
from tests.executor.conftest import T0, MakeHarness, isvc_entry

pytestmark = pytest.mark.integration
MODES = [pytest.param("Knative", id="knative"), pytest.param("Standard", id="standard")]


@pytest.mark.parametrize("mode", MODES)
def test_stop_is_verified_only_after_the_pods_are_gone(make_harness: MakeHarness,
                                                       mode: str) -> None:
    h = make_harness("0.16", isvc_entry(mode=mode), termination=1)
    outcome = h.apply(Action.STOP)
    assert outcome.kind is OutcomeKind.APPLIED and outcome.strategy == "native"
    h.handle.wait_idle()
    pods_now = h.cluster.pod_counts().get(h.ref(), 0)
    early = h.follow_up()
    assert (pods_now, early, h.states()) == (1, [], ["applied"])
    h.settle()
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.states() == ["verified"]


@pytest.mark.parametrize("mode", MODES)
def test_a_full_cycle_leaves_labels_and_annotations_as_the_user_had_them(
        make_harness: MakeHarness, mode: str) -> None:
    h = make_harness("0.16", isvc_entry(mode=mode, annotations={"team": "ml"}))
    before = h.isvc()["metadata"]
    for action in (Action.STOP, Action.START):
        assert h.apply(action).kind is OutcomeKind.APPLIED
        h.settle()
        assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    after = h.isvc()["metadata"]
    assert (after.get("labels"), after.get("annotations")) == (
        before.get("labels"), before.get("annotations"))


@pytest.mark.parametrize("mode", MODES)
def test_stop_and_start_emit_events(make_harness: MakeHarness, mode: str) -> None:
    h = make_harness("0.16", isvc_entry(mode=mode))
    h.apply(Action.STOP)
    h.settle()
    h.follow_up()
    h.apply(Action.START)
    events = h.events()
    assert sorted(e["reason"] for e in events) == ["Reclaimed", "Restored"]
    assert {e["reportingComponent"] for e in events} == {"reclaimer"}
    assert {e["involvedObject"]["name"] for e in events} == {"llama"}


def test_stop_patches_only_the_stop_annotation_with_a_resource_version(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.request_log.clear()
    h.apply(Action.STOP)
    patches = h.handle.request_log.entries(verb="patch", resource="inferenceservices")
    assert [(p.subresource, p.code) for p in patches] == [(None, 200)]
    assert h.isvc()["metadata"]["annotations"]["serving.kserve.io/stop"] == "true"


def test_a_start_is_verified_by_ready(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.apply(Action.STOP)
    h.settle()
    h.follow_up()
    h.apply(Action.START)
    h.settle()
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.states() == ["verified", "verified"]


def test_disable_auto_update_is_refused_with_the_reason(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry(
        annotations={"serving.kserve.io/disable-auto-update": "true"}))
    h.handle.request_log.clear()
    outcome = h.apply(Action.STOP)
    assert outcome.kind is OutcomeKind.FAILED
    assert "serving.kserve.io/disable-auto-update" in outcome.message
    assert h.handle.request_log.count(verb="patch", resource="inferenceservices") == 0
    assert [e["reason"] for e in h.events()] == ["ReclaimFailed"]


def test_verification_times_out_into_failed(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry(), termination=30)
    h.apply(Action.STOP)
    h.handle.wait_idle()
    late = T0 + timedelta(minutes=6)
    outcomes = h.follow_up(at=late)
    assert [o.kind for o in outcomes] == [OutcomeKind.FAILED]
    assert "pod(s) still present" in outcomes[0].message
    assert h.states() == ["failed"]


def test_a_deferred_stop_emits_one_event_with_a_count(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    deferred = replace(h.transition(Action.STOP), reason=Reason.DEFERRED_BUSY,
                       blocked="busy: 4 requests in the last 5m")
    for minute in range(3):
        assert h.executor.announce_blocked(deferred, at=T0 + timedelta(minutes=minute))
    (event,) = h.events()
    assert (event["reason"], event["count"]) == ("Deferred", 3)
    assert h.states() == []


def test_a_users_stop_false_is_put_back_after_a_cycle(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry(annotations={"serving.kserve.io/stop": "false"}))
    before = h.isvc()["metadata"]["annotations"]
    for action in (Action.STOP, Action.START):
        h.apply(action)
        h.settle()
    assert h.isvc()["metadata"]["annotations"] == before


def test_apply_all_acts_on_actionable_entries_and_announces_deferred_ones(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry("a"), isvc_entry("b"))
    deferred = replace(h.transition(Action.STOP, "b"), reason=Reason.DEFERRED_BUSY,
                       blocked="busy")
    outcomes = h.executor.apply_all([h.transition(Action.STOP, "a"), deferred], at=T0)
    assert [(o.ref.name, o.kind) for o in outcomes] == [("a", OutcomeKind.APPLIED)]
    assert sorted(e["reason"] for e in h.events()) == ["Deferred", "Reclaimed"]


def test_a_refusal_is_lifted_once_the_user_removes_the_annotation(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry(
        annotations={"serving.kserve.io/disable-auto-update": "true"}))
    first = h.apply(Action.STOP)
    h.rest.merge_patch(rest.ISVC, "team-a", "llama", {"metadata": {"annotations": {
        "serving.kserve.io/disable-auto-update": None}}})
    second = h.apply(Action.STOP)
    assert (first.kind, second.kind, h.states()) == (
        OutcomeKind.FAILED, OutcomeKind.APPLIED, ["failed", "applied"])
