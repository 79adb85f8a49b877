"""Never fight a person, KEDA too: a managed Standard start takes off its own pause only.

The stop sets each ScaledObject's ``autoscaling.keda.sh/paused-replicas`` to ``"0"`` and
saves the value it had. The start puts that value back only while the ScaledObject still
holds the stop's ``"0"``, with its resourceVersion as read (compare-and-set, as the
Deployments' replicas are put back); a pause a person changed or removed while the
service was stopped, or while the start was under way, stays, and the row and the
``Restored`` Event name it. Sandbox over HTTP; the person's writes go through the same
API server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry
from tests.executor.test_keda import (
    CLASS,
    KEDA_CRD,
    PAUSED,
    SCALED_OBJECT,
    _pause_of,
    _replicas,
    _scaled_object,
    _while_held,
    _with_scaled_object,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
LATER = T0 + timedelta(hours=13)


def _stopped(make_harness: MakeHarness, *, paused: str | None = None) -> Harness:
    h = _with_scaled_object(make_harness, paused=paused)
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()
    assert _pause_of(h) == "0"
    return h


def _set_pause(h: Harness, value: str | None) -> None:
    h.rest.merge_patch(SCALED_OBJECT, NS, "llama-predictor",
                       {"metadata": {"annotations": {PAUSED: value}}})


def _restored_event(h: Harness) -> str:
    (event,) = [e for e in h.events() if e["reason"] == "Restored"]
    return str(event["message"])


@pytest.mark.parametrize(("earlier", "person", "said"), [
    pytest.param(None, "2", "KEDA ScaledObject llama-predictor pause '2' (saved None)",
                 id="a-pause-of-2-set-while-stopped"),
    pytest.param("3", None, "KEDA ScaledObject llama-predictor pause None (saved '3')",
                 id="the-pause-removed-while-stopped"),
])
def test_a_start_leaves_a_keda_pause_a_person_changed_while_stopped_and_names_it(
        make_harness: MakeHarness, earlier: str | None, person: str | None,
        said: str) -> None:
    h = _stopped(make_harness, paused=earlier)
    _set_pause(h, person)
    start = h.apply(Action.START, at=LATER)
    h.settle()
    assert (start.kind, _pause_of(h)) == (OutcomeKind.APPLIED, person)
    assert (said in start.message, said in _restored_event(h)) == (True, True)


def test_a_start_leaves_a_keda_pause_a_person_writes_between_its_read_and_its_write(
        make_harness: MakeHarness) -> None:
    """The start read the pause at ``"0"``; before its PATCH lands, a person sets
    ``"2"``. The PATCH carries the resourceVersion it read: a 409, read again, no longer
    the stop's ``"0"``: left, and named."""
    h = _stopped(make_harness)
    held = h.handle.faults.add("patch", "scaledobjects", NS, "llama-predictor", delay=1.0)
    start = _while_held(held, lambda: h.apply(Action.START, at=LATER),
                        lambda: _set_pause(h, "2"))
    h.settle()
    assert (start.kind, _pause_of(h)) == (OutcomeKind.APPLIED, "2")
    assert "KEDA ScaledObject llama-predictor pause '2' (saved None)" in start.message


def test_a_retried_start_finds_its_own_pause_already_back_and_says_so(
        make_harness: MakeHarness) -> None:
    """A pause already holding the saved value (this start's first attempt, or a
    process that died after it) is back, not a person's change: nothing named."""
    h = _stopped(make_harness, paused="3")
    _set_pause(h, "3")
    start = h.apply(Action.START, at=LATER)
    assert (start.kind, _pause_of(h), "left as found" in start.message) == (
        OutcomeKind.APPLIED, "3", False)


@pytest.mark.parametrize("resource", ["scaledobjects", "deployments"])
def test_a_409_storm_on_the_start_s_put_back_is_retried_and_never_over_a_person(
        make_harness: MakeHarness, resource: str) -> None:
    """Every PATCH of the start's put-back gets a 409 six times (three attempts a
    start): the start is retried (the row kept, not failed), and the retry that gets
    through puts back the saved values; the service is left running as before. (The
    executor may ride out the storm inside one apply: only "never failed, and back as
    saved" is asked.)"""
    h = _stopped(make_harness)
    h.handle.faults.add("patch", resource, NS, "llama-predictor", status=409, times=6)
    first = h.apply(Action.START, at=LATER)
    second = h.apply(Action.START, at=LATER)
    third = h.apply(Action.START, at=LATER)
    h.settle()
    kinds = [first.kind, second.kind, third.kind]
    said = " ".join(o.message or "" for o in (first, second, third))
    assert (OutcomeKind.FAILED in kinds, kinds[-1], _pause_of(h), _replicas(h),
            "left as found" in said) == (False, OutcomeKind.APPLIED, None, 1, False), said


def test_two_replicas_starting_at_once_put_back_once_and_name_no_person(
        make_harness: MakeHarness) -> None:
    """Two of us: the old leader's start is held in flight (its ScaledObject PATCH
    delayed) while the new leader starts the same service. The new leader's writes land
    first; the old one's carry the resourceVersions they read: a 409, read again, the
    saved value already there: back, not a person's change, and nothing written
    twice."""
    from reclaimer.executor.executor import Executor  # noqa: PLC0415

    h = _stopped(make_harness)
    successor = Executor(h.cluster, h.ledger, actor="successor", options=h.executor.options)
    held = h.handle.faults.add("patch", "scaledobjects", NS, "llama-predictor", delay=1.0)
    mine: list[str] = []
    old = _while_held(held, lambda: h.apply(Action.START, at=LATER), lambda: mine.append(
        successor.apply(h.transition(Action.START), at=LATER).message or ""))
    h.settle()
    said = f"{old.message} {mine[0]}"
    assert (old.kind, _pause_of(h), _replicas(h), "left as found" in said) == (
        OutcomeKind.APPLIED, None, 1, False), said


def test_a_stop_begun_afresh_after_a_person_put_the_class_back_keeps_the_saved_pause(
        make_harness: MakeHarness) -> None:
    """Midway (the ScaledObject paused at ``"0"``, the predictor's scale failing), a
    person puts the class back; the retry of the decision starts the stop afresh and
    must not save the ``"0"`` of this stop's own pause as what a start puts back: the
    start would leave KEDA paused at 0, holding the service at 0 replicas for good (the
    sandbox honours the pause: before the fix, the pause stayed ``"0"`` and the
    predictor at 0 after an ``applied`` start)."""
    h = make_harness("0.14", isvc_entry(), scenario={"objects": [KEDA_CRD, _scaled_object()]})
    h.handle.faults.add("patch", "deployments", NS, "llama-predictor", status=503, times=-1)
    assert h.apply(Action.STOP).kind is OutcomeKind.RETRY
    h.handle.faults.clear()
    h.cluster.patch_isvc(h.ref(), {"metadata": {
        "annotations": {CLASS: None}, "resourceVersion": st.resource_version(h.isvc())}})
    h.settle()
    assert (_pause_of(h), h.apply(Action.STOP).kind) == ("0", OutcomeKind.APPLIED)
    h.settle()
    start = h.apply(Action.START, at=LATER)
    h.settle()
    assert (start.kind, _pause_of(h), _replicas(h)) == (OutcomeKind.APPLIED, None, 1)
