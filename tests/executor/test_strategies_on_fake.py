"""Native and managed stop and start, verification and re-assertion, on the in-memory
cluster (tests/executor/fake_bench.py): the executor's own logic, in milliseconds.

The same behaviours against the sandbox over HTTP are in test_native.py and
test_managed.py; these pin the executor's requests and records by count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.executor.fake_bench import REF, T0, bench

pytestmark = pytest.mark.timeout(5)
CLASS = "serving.kserve.io/autoscalerClass"
STOP = "serving.kserve.io/stop"


def test_a_native_stop_is_one_patch_of_the_annotation() -> None:
    b = bench("0.16")
    stopped = b.apply(Action.STOP)
    assert (stopped.kind, stopped.strategy, b.annotations()[STOP]) == (
        OutcomeKind.APPLIED, "native", "true")
    assert (b.cluster.writes(), b.states(), b.events()) == (1, ["applied"], [("Reclaimed", 1)])


def test_a_native_stop_awaits_kserve_then_is_verified() -> None:
    b = bench("0.16")
    b.apply(Action.STOP)
    waiting = b.executor.follow_up(at=T0)
    b.kserve_stopped()
    verified = b.executor.follow_up(at=T0)
    assert (waiting, [o.kind for o in verified], b.states()) == (
        [], [OutcomeKind.VERIFIED], ["verified"])


def test_a_native_start_puts_back_the_users_annotation() -> None:
    b = bench("0.16", annotations={STOP: "false"})
    b.apply(Action.STOP)
    b.kserve_stopped()
    started = b.apply(Action.START)
    assert (started.kind, started.strategy, b.annotations()[STOP]) == (
        OutcomeKind.APPLIED, "native", "false")


def test_a_native_stop_of_a_stopped_service_writes_nothing() -> None:
    b = bench("0.16", annotations={STOP: "true"})
    stopped = b.apply(Action.STOP)
    assert (stopped.kind, b.cluster.writes()) == (OutcomeKind.APPLIED, 0)
    assert stopped.message.startswith("already stopped")


def test_a_managed_raw_stop_scales_to_zero_and_writes_its_condition() -> None:
    b = bench("0.14")
    stopped = b.apply(Action.STOP)
    assert (stopped.kind, stopped.strategy) == (OutcomeKind.APPLIED, "managed-raw")
    assert (b.annotations()[CLASS], b.replicas(), b.stopped_reason()) == (
        "external", 0, "Reclaimed")
    assert b.ledger.load_restore_info(REF, "uid-llama") is not None


def test_a_managed_raw_stop_makes_three_writes() -> None:
    """The class, the scale, the condition (and one Event): nothing else."""
    b = bench("0.14")
    b.apply(Action.STOP)
    assert dict(b.cluster.calls) == {
        ("get", "inferenceservices"): 1, ("list", "deployments"): 1,
        ("list", "scaledobjects"): 1, ("list", "horizontalpodautoscalers"): 1,
        ("list", "rollouts"): 1, ("patch", "inferenceservices"): 2,
        ("patch", "deployments"): 1, ("create", "events"): 1}


def test_a_managed_raw_start_restores_what_the_stop_saved() -> None:
    b = bench("0.14")
    b.apply(Action.STOP)
    started = b.apply(Action.START)
    assert (started.kind, CLASS in b.annotations(), b.replicas(), b.stopped_reason()) == (
        OutcomeKind.APPLIED, False, 1, None)


def test_a_managed_raw_stop_is_verified_when_the_pods_are_gone() -> None:
    b = bench("0.14")
    b.apply(Action.STOP)
    b.cluster.set_pods(REF, 0)
    assert [o.kind for o in b.executor.follow_up(at=T0)] == [OutcomeKind.VERIFIED]


def test_a_managed_knative_stop_and_start_round_trip_min_replicas() -> None:
    b = bench("0.14", mode="Knative", components={"predictor": {"minReplicas": 1}})
    b.apply(Action.STOP)
    stopped = b.isvc()["spec"]["predictor"].get("minReplicas")
    started = b.apply(Action.START)
    assert (stopped, started.strategy, b.isvc()["spec"]["predictor"].get("minReplicas")) == (
        0, "managed-knative", 1)


def test_a_dropped_condition_of_a_held_stop_is_written_again() -> None:
    b = bench("0.14")
    b.apply(Action.STOP)
    b.cluster.set_pods(REF, 0)
    b.executor.follow_up(at=T0)
    b.cluster.set_condition(REF, "Stopped", None)  # KServe < 0.16 rewrote the status
    writes = b.cluster.writes()
    b.executor.follow_up(at=T0 + timedelta(seconds=30))
    assert (b.stopped_reason(), b.cluster.writes() - writes) == ("Reclaimed", 1)


def test_a_held_stop_with_its_condition_in_place_is_not_written() -> None:
    b = bench("0.14")
    b.apply(Action.STOP)
    b.cluster.set_pods(REF, 0)
    b.executor.follow_up(at=T0)
    writes = b.cluster.writes()
    b.executor.follow_up(at=T0 + timedelta(seconds=30))
    assert b.cluster.writes() == writes


def test_a_stop_undone_by_hand_is_released_not_reasserted() -> None:
    b = bench("0.14")
    b.apply(Action.STOP)
    b.cluster.set_pods(REF, 0)
    b.executor.follow_up(at=T0)
    b.cluster.patch_isvc(REF, {"metadata": {"annotations": {CLASS: None}}})
    b.cluster.set_condition(REF, "Stopped", None)
    b.executor.follow_up(at=T0 + timedelta(seconds=30))
    assert (b.stopped_reason(), b.executor.settling()) == (None, frozenset())


def test_a_managed_stop_made_elsewhere_is_held_from_the_ledger() -> None:
    """Another process's stop (the CLI's): this executor holds it after one refresh."""
    b = bench("0.14")
    maker = Executor(b.cluster, b.ledger, actor="cli", options=b.executor.options)
    maker.apply(b.transition(Action.STOP), at=T0)
    b.cluster.set_condition(REF, "Stopped", None)
    in_place = b.executor.managed_stops_in_place()
    b.executor.follow_up(at=T0)
    assert (in_place, b.stopped_reason()) == (frozenset({REF}), "Reclaimed")


def test_a_stop_not_verified_in_time_fails_with_an_event() -> None:
    b = bench("0.16", verify_timeout=timedelta(minutes=5))
    b.apply(Action.STOP)
    (failed,) = b.executor.follow_up(at=T0 + timedelta(minutes=5))
    assert (failed.kind, b.states(), b.events()) == (
        OutcomeKind.FAILED, ["failed"], [("Reclaimed", 1), ("ReclaimFailed", 1)])


def test_a_service_replaced_under_the_same_name_is_not_touched() -> None:
    b = bench("0.16")
    skipped = b.executor.apply(b.transition(Action.STOP, uid="uid-older"), at=T0)
    assert (skipped.kind, b.cluster.writes(), b.states()) == (OutcomeKind.SKIPPED, 0, [])


def test_a_start_counts_as_in_flight_until_verified() -> None:
    b = bench("0.16", annotations={STOP: "true"})
    b.apply(Action.START)
    before = b.executor.starts_in_flight()
    b.kserve_started()
    b.executor.follow_up(at=T0)
    assert (before, b.executor.starts_in_flight()) == (1, 0)

