"""A permanent failure midway through a managed Standard stop is put back, and said.

The predictor's Deployment goes to 0, then the transformer's scale is refused (an
admission policy, a RoleBinding missing in the namespace): the service must not be left
half-stopped behind a ``failed`` row that does not say so. Sandbox over HTTP, its fault
injection in front of the real requests.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import ErrorClass, OutcomeKind
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
CLASS = "serving.kserve.io/autoscalerClass"


def _replicas(h: Harness) -> dict[str, int]:
    return {d["metadata"]["name"]: d["spec"].get("replicas")
            for d in h.cluster.component_deployments(h.ref())}


def _looks(h: Harness) -> tuple[Any, ...]:
    obj = h.isvc()
    return (st.annotations_of(obj).get(CLASS), _replicas(h), st.own_stopped(obj))


def _refuse_transformer_scale(h: Harness, status: int) -> None:
    h.handle.faults.add("patch", "deployments", name="llama-transformer", status=status,
                        times=-1, message="denied by policy no-scale")


@pytest.mark.parametrize("status", [pytest.param(403, id="forbidden"),
                                    pytest.param(422, id="invalid"),
                                    pytest.param(400, id="bad-request")])
def test_a_stop_refused_midway_is_rolled_back_and_the_row_says_so(
        make_harness: MakeHarness, status: int) -> None:
    h = make_harness("0.15", isvc_entry(transformer=True, annotations={CLASS: "hpa"}))
    before = _looks(h)
    _refuse_transformer_scale(h, status)
    stop = h.apply(Action.STOP)
    h.settle()
    (row,) = h.ledger.history()
    assert (stop.kind, stop.error, _looks(h)) == (OutcomeKind.FAILED, ErrorClass.PERMANENT,
                                                  before)
    assert row.state.value == "failed"
    assert (row.error or "").startswith("managed-raw: permanent error (")
    assert f"{status} " in (row.error or "")
    assert (row.error or "").endswith(
        "rolled back: Deployment llama-predictor scaled back to 1, "
        "autoscalerClass set back to 'hpa'")


def test_a_stop_refused_at_its_first_write_has_nothing_to_roll_back(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=403, times=-1)
    h.apply(Action.STOP)
    (row,) = h.ledger.history()
    assert (row.error or "").endswith("rolled back: nothing was changed")


def test_a_stop_whose_rollback_fails_too_says_the_service_is_partially_stopped(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", delay=0.001)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=403, times=-1)
    stop = h.apply(Action.STOP)
    h.settle()
    (row,) = h.ledger.history()
    (event,) = [e for e in h.events() if e["reason"] == "ReclaimFailed"]
    assert (stop.kind, _looks(h)) == (
        OutcomeKind.FAILED, ("external", {"llama-predictor": 0, "llama-transformer": 1}, False))
    assert "PARTIALLY STOPPED" in (row.error or "")
    assert "PARTIALLY STOPPED" in event["message"]
    assert "reclaimer start team-a/llama" in (row.error or "")


def test_a_partially_stopped_service_is_restored_by_a_start(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry(transformer=True))
    before = _looks(h)
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", delay=0.001)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=403, times=1)
    h.apply(Action.STOP)
    h.handle.faults.clear()
    start = h.apply(Action.START)
    h.settle()
    assert (start.kind, _looks(h)) == (OutcomeKind.APPLIED, before)


def _stalled_midway(make_harness: MakeHarness) -> Harness:
    """The transformer's scale keeps failing with 503: the predictor is at 0, the
    class external, the row kept planned for a retry of the same decision."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    h.handle.faults.add("patch", "deployments", name="llama-transformer", status=503,
                        times=-1)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.settle()
    assert _looks(h) == ("external", {"llama-predictor": 0, "llama-transformer": 1}, False)
    h.handle.faults.clear()
    return h


def test_a_stop_left_midway_whose_decision_is_not_taken_again_is_put_back(
        make_harness: MakeHarness) -> None:
    h = _stalled_midway(make_harness)
    (closed,) = h.executor.settle_retries([], at=T0 + timedelta(minutes=1))
    h.settle()
    (row,) = h.ledger.history()
    assert (closed.kind, row.state.value, _looks(h)) == (
        OutcomeKind.ABANDONED, "abandoned",
        (None, {"llama-predictor": 1, "llama-transformer": 1}, False))
    assert (row.error or "").endswith(
        "rolled back: Deployment llama-predictor scaled back to 1, "
        "autoscalerClass removed, as it was")


def test_a_stop_left_midway_and_superseded_by_a_new_stop_is_finished_not_put_back(
        make_harness: MakeHarness) -> None:
    h = _stalled_midway(make_harness)
    later = T0 + timedelta(minutes=1)
    newer = replace(h.transition(Action.STOP), at=later, edge_key="team-a/p|x|later|stop")
    h.handle.request_log.clear()
    assert h.executor.apply(newer, at=later).kind is OutcomeKind.APPLIED
    h.settle()
    assert _looks(h)[:2] == ("external", {"llama-predictor": 0, "llama-transformer": 0})
    assert h.handle.request_log.count(verb="patch", resource="inferenceservices",
                                      subresource=None) == 0


def test_a_rollback_failing_transiently_is_retried_with_the_decision_then_said(
        make_harness: MakeHarness) -> None:
    """503s while putting back: the row stays planned, the retry of the same decision
    meets the 403 again and puts back; one failed row, one Event."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", delay=0.001)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=503, times=3)
    kinds = [h.apply(Action.STOP).kind, h.apply(Action.STOP).kind]
    h.settle()
    (row,) = h.ledger.history()
    failed_events = [e for e in h.events() if e["reason"] == "ReclaimFailed"]
    assert (kinds, row.state.value, len(failed_events)) == (
        [OutcomeKind.RETRY, OutcomeKind.FAILED], "failed", 1)
    assert (row.error or "").endswith(
        "rolled back: Deployment llama-predictor scaled back to 1, "
        "autoscalerClass removed, as it was")


def test_a_stop_left_midway_is_not_put_back_while_the_guard_forbids_writes(
        make_harness: MakeHarness) -> None:
    """A leader past its lease margin must not write: the row stays kept, and the next
    tick that may write puts the stop back."""
    h = _stalled_midway(make_harness)
    h.executor.guard = lambda: "lease not renewed within its margin"
    held_back = h.executor.settle_retries([], at=T0 + timedelta(minutes=1))
    states_then = (h.states(), _looks(h)[:2])
    h.executor.guard = lambda: None
    (closed,) = h.executor.settle_retries([], at=T0 + timedelta(minutes=2))
    h.settle()
    assert (held_back, states_then) == (
        [], (["planned"], ("external", {"llama-predictor": 0, "llama-transformer": 1})))
    assert (closed.kind, _looks(h)[:2]) == (
        OutcomeKind.ABANDONED, (None, {"llama-predictor": 1, "llama-transformer": 1}))


def test_a_rollback_held_up_by_a_409_storm_is_resumed_not_the_stop_again(
        make_harness: MakeHarness) -> None:
    """KServe rewrites the ISVC on every reconcile, so putting the class back can meet
    409 after 409: the retry must carry on putting back, not scale the predictor that
    was just put back down again (a pod killed every tick while the storm lasts)."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    before = _looks(h)
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "inferenceservices", delay=0.001)
    h.handle.faults.add("patch", "inferenceservices", status=409, times=6)
    kinds = [h.apply(Action.STOP).kind, h.apply(Action.STOP).kind]
    h.settle()
    # scales that landed: a put-back's compare-and-set may meet the deployment
    # controller's status write (a 409, read again, written again) on a loaded host
    scaled_after_first = sum(1 for r in h.handle.request_log.entries(
        verb="patch", resource="deployments", name="llama-predictor") if r.code < 300)
    kinds.append(h.apply(Action.STOP).kind)
    h.settle()
    (row,) = h.ledger.history()
    assert (kinds, scaled_after_first, _looks(h)) == (
        [OutcomeKind.RETRY, OutcomeKind.RETRY, OutcomeKind.FAILED], 2, before)
    assert (row.error or "").endswith(
        "rolled back: Deployment llama-predictor scaled back to 1, "
        "autoscalerClass removed, as it was")


def test_a_rollback_does_not_write_once_the_guard_forbids_writes(
        make_harness: MakeHarness) -> None:
    """The lease goes past its margin between the stop's class change and the refused
    scale: putting back is cluster writes too, so it waits, marked, for whoever leads
    next; the row stays planned for that leader's recovery."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)

    def lease_lost_after_the_class_change() -> str | None:
        written = h.handle.request_log.count(verb="patch", resource="inferenceservices",
                                             subresource=None)
        return "lease not renewed within its margin" if written else None

    h.executor.guard = lease_lost_after_the_class_change
    stop = h.apply(Action.STOP)
    h.settle()
    scaled = h.handle.request_log.count(verb="patch", resource="deployments",
                                        name="llama-predictor")
    assert (stop.kind, scaled, h.states(), _looks(h)[:2]) == (
        OutcomeKind.RETRY, 1, ["planned"],
        ("external", {"llama-predictor": 0, "llama-transformer": 1}))


def test_a_stop_resumed_after_a_person_put_the_class_back_keeps_the_saved_replicas(
        make_harness: MakeHarness) -> None:
    """Midway (the predictor at 0), a person puts the class back; the retry of the
    decision starts the stop afresh and must not save the predictor's 0, which is this
    stop's own doing, as what a start puts back (a start then "verified" with the
    transformer up and the predictor at 0)."""
    h = _stalled_midway(make_harness)
    obj = h.isvc()
    h.cluster.patch_isvc(h.ref(), {"metadata": {
        "annotations": {CLASS: None}, "resourceVersion": st.resource_version(obj)}})
    h.settle()
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()
    start = h.apply(Action.START, at=T0 + timedelta(hours=1))
    h.settle()
    assert (start.kind, _looks(h)) == (
        OutcomeKind.APPLIED, (None, {"llama-predictor": 1, "llama-transformer": 1}, False))


def test_a_rollback_leaves_a_value_a_person_changed_since_the_stop_and_names_it(
        make_harness: MakeHarness) -> None:
    """Issue 14, rollback compare-and-set: midway (the predictor at 0), a person scales
    the predictor to 3 by hand; putting the stop back writes only what still holds the
    value the stop wrote (the class), never the predictor's replicas, and says so. (Its
    replicas afterwards are KServe's HPA's, back with the class.)"""
    h = _stalled_midway(make_harness)
    h.cluster.scale_deployment(NS, "llama-predictor", 3)
    h.settle()
    h.handle.request_log.clear()
    (closed,) = h.executor.settle_retries([], at=T0 + timedelta(minutes=1))
    h.settle()
    (row,) = h.ledger.history()
    scaled = h.handle.request_log.count(verb="patch", resource="deployments",
                                        name="llama-predictor")
    assert (closed.kind, scaled, _looks(h)[0]) == (OutcomeKind.ABANDONED, 0, None)
    assert (row.error or "").endswith(
        "rolled back: autoscalerClass removed, as it was; left as found, changed by "
        "someone since the stop: Deployment llama-predictor replicas 3 (saved 1)")


def test_a_new_stop_meeting_an_unfinished_rollback_settles_it_then_stops(
        make_harness: MakeHarness) -> None:
    """Issue 14, the newest decision acts on a settled service: the first stop failed
    for good (403) and putting its class back met a 409 storm; the policy is then fixed
    and a new stop is decided. The old row is closed failed with what was put back, and
    the new decision stops: its row applied, the service stopped (never the old
    failure recorded as the new decision's)."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "inferenceservices", delay=0.001)
    h.handle.faults.add("patch", "inferenceservices", status=409, times=3)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.settle()
    h.handle.faults.clear()
    later = T0 + timedelta(minutes=1)
    newer = replace(h.transition(Action.STOP), at=later, edge_key="team-a/p|x|later|stop")
    stop = h.executor.apply(newer, at=later)
    h.settle()
    old, new = sorted(h.ledger.history(), key=lambda r: r.id)
    assert (stop.kind, old.state.value, new.state.value, _looks(h)[:2]) == (
        OutcomeKind.APPLIED, "failed", "applied",
        ("external", {"llama-predictor": 0, "llama-transformer": 0}))
    assert "rolled back: Deployment llama-predictor scaled back to 1, autoscalerClass " \
           "removed, as it was" in (old.error or "")


def test_a_stop_left_midway_is_put_back_when_the_users_class_was_already_external(
        make_harness: MakeHarness) -> None:
    """Issue 14: a person who runs the replicas by hand (class ``external`` of their
    own) gets the predictor the stop scaled to 0 back when the stop is abandoned
    midway; the class stays theirs."""
    h = make_harness("0.15", isvc_entry(transformer=True, annotations={CLASS: "external"}))
    h.handle.faults.add("patch", "deployments", name="llama-transformer", status=503,
                        times=-1)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.settle()
    h.handle.faults.clear()
    (closed,) = h.executor.settle_retries([], at=T0 + timedelta(minutes=1))
    h.settle()
    (row,) = h.ledger.history()
    assert (closed.kind, _looks(h)[:2]) == (
        OutcomeKind.ABANDONED, ("external", {"llama-predictor": 1, "llama-transformer": 1}))
    assert (row.error or "").endswith("rolled back: Deployment llama-predictor scaled back to 1")


def test_a_new_stop_whose_old_rollback_cannot_finish_finishes_the_stop(
        make_harness: MakeHarness) -> None:
    """The old rollback fails for good when the new stop settles it: the old row says
    PARTIALLY STOPPED, and the new decision finishes the stop from the saved restore
    information (never a half-stopped service behind an applied row)."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", delay=0.001)
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=503, times=3)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.settle()
    h.handle.faults.clear()
    h.handle.faults.add("patch", "deployments", name="llama-predictor", status=403)
    later = T0 + timedelta(minutes=1)
    newer = replace(h.transition(Action.STOP), at=later, edge_key="team-a/p|x|later|stop")
    stop = h.executor.apply(newer, at=later)
    h.settle()
    old, new = sorted(h.ledger.history(), key=lambda r: r.id)
    assert (stop.kind, old.state.value, new.state.value, _looks(h)[:2]) == (
        OutcomeKind.APPLIED, "failed", "applied",
        ("external", {"llama-predictor": 0, "llama-transformer": 0}))
    assert "PARTIALLY STOPPED" in (old.error or "")


def test_an_interrupted_undo_of_an_abandoned_stop_does_not_block_a_stop_decided_later(
        make_harness: MakeHarness) -> None:
    """A process killed while putting back a stop left midway (no error: the stop did
    not fail) leaves the fields it changed saved; a stop decided later finishes the
    stop from the restore information instead of tripping over that mark."""
    h = _stalled_midway(make_harness)
    uid = h.isvc()["metadata"]["uid"]
    saved = dict(h.ledger.load_restore_info(h.ref(), uid) or {})
    h.ledger.save_restore_info(h.ref(), uid, {**saved, "rollingBack": {
        "changed": ["Deployment/llama-predictor", "autoscalerClass"]}}, at=T0)
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()
    assert _looks(h)[:2] == ("external", {"llama-predictor": 0, "llama-transformer": 0})


def test_a_deployment_deleted_while_its_replicas_are_put_back_is_not_named_as_changed(
        make_harness: MakeHarness) -> None:
    """Putting back the predictor's replicas meets a 409; before it is read again, the
    Deployment is deleted. Nothing is left to put back and nobody changed a value: the
    row does not say its replicas are ``None`` "changed by someone". (Controllers
    stalled, so KServe does not make it again before the read.)"""
    from tests.executor.test_keda import _while_held  # noqa: PLC0415
    from tests.executor.test_managed_verify import controllers_stalled  # noqa: PLC0415

    h = make_harness("0.15", isvc_entry(transformer=True))
    with controllers_stalled(h):
        _refuse_transformer_scale(h, 403)
        h.handle.faults.add("patch", "deployments", name="llama-predictor", delay=0.001)
        held = h.handle.faults.add("patch", "deployments", name="llama-predictor",
                                   status=409, delay=1.0)
        stop = _while_held(held, lambda: h.apply(Action.STOP), lambda: h.rest.request(
            "DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/llama-predictor"))
        (row,) = h.ledger.history()
    assert stop.kind is OutcomeKind.FAILED
    assert (row.error or "").endswith("rolled back: autoscalerClass removed, as it was")


def test_a_new_stop_whose_old_rollback_cannot_be_read_still_acts_as_itself(
        make_harness: MakeHarness) -> None:
    """As above, but the read that would settle the old rollback fails (a 403 on the
    GET, once). The new decision must not take the old rollback as its own: it stops,
    its row applied, never the old decision's failure recorded on it."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "inferenceservices", delay=0.001)
    h.handle.faults.add("patch", "inferenceservices", status=409, times=3)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.settle()
    h.handle.faults.clear()
    later = T0 + timedelta(minutes=1)
    newer = replace(h.transition(Action.STOP), at=later, edge_key="team-a/p|x|later|stop")
    h.handle.faults.add("get", "inferenceservices", status=403)
    stop = h.executor.apply(newer, at=later)
    h.settle()
    old, new = sorted(h.ledger.history(), key=lambda r: r.id)
    assert (stop.kind, new.state.value, new.error, _looks(h)[:2]) == (
        OutcomeKind.APPLIED, "applied", None,
        ("external", {"llama-predictor": 0, "llama-transformer": 0}))
    assert (old.state.value, "could not be read" in (old.error or "")) == ("failed", True)


def test_a_rollback_whose_row_was_closed_unread_is_not_inherited_by_a_later_stop(
        make_harness: MakeHarness) -> None:
    """The old row is closed while nothing is decided (a hold, say) and the service
    cannot be read then (a 403 on the GET, once): its rollback mark goes with the row
    (``failed``, saying so). A stop decided later acts as itself, never recording the
    old decision's failure on its own row."""
    h = make_harness("0.15", isvc_entry(transformer=True))
    _refuse_transformer_scale(h, 403)
    h.handle.faults.add("patch", "inferenceservices", delay=0.001)
    h.handle.faults.add("patch", "inferenceservices", status=409, times=3)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.settle()
    h.handle.faults.clear()
    h.handle.faults.add("get", "inferenceservices", status=403)
    (closed,) = h.executor.settle_retries([], at=T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=2)
    newer = replace(h.transition(Action.STOP), at=later, edge_key="team-a/p|x|later|stop")
    stop = h.executor.apply(newer, at=later)
    h.settle()
    old, new = sorted(h.ledger.history(), key=lambda r: r.id)
    assert (closed.kind, old.state.value, stop.kind, new.error) == (
        OutcomeKind.FAILED, "failed", OutcomeKind.APPLIED, None)
    assert _looks(h)[:2] == ("external", {"llama-predictor": 0, "llama-transformer": 0})
