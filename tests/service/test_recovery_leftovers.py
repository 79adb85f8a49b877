"""Leftovers of the recovery reviews (task h-safe4): a managed Standard stop left
half-done whose putting back meets a 409 storm, and a pending row whose service
answers 403.

Sandbox over HTTP with its fault injection, the loop with its `TermKeeper`, a real
ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import ISVC
from reclaimer.ledger import Ledger
from reclaimer.ledger.records import RecordState
from reclaimer.model import Action, Reason, Transition, Trigger
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import TermKeeper
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import OFFICE_HOURS, build, quiet
from tests.service.test_mid_term_recovery import BEGIN, IN_FLIGHT, LLAMA, Led, _states

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
CLASS = "serving.kserve.io/autoscalerClass"
MANAGED = {"kserve": "0.15", "podTerminationSeconds": 0, "namespaces": ["team-a"],
           "inferenceServices": [{"namespace": "team-a", "name": "llama", "gpus": 1,
                                  "labels": {"tier": "dev"}, "mode": "Standard",
                                  "transformer": True}]}


@pytest.fixture
def managed(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Led]:
    """One replica (one term for its life) on KServe 0.15: a managed Standard stop."""
    world = build(make_sandbox(MANAGED), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    yield Led(world, TermKeeper(world.reconciler, AlwaysLeader(), in_flight=IN_FLIGHT))
    world.close()


def _looks(led: Led) -> tuple[Any, ...]:
    cluster = KubeCluster(led.world.rest)
    obj = cluster.get_isvc(LLAMA)
    return (st.annotations_of(obj).get(CLASS),
            {d["metadata"]["name"]: d["spec"].get("replicas")
             for d in cluster.component_deployments(LLAMA)})


def _failed_events(led: Led) -> list[str]:
    events = led.world.rest.request("GET", "/api/v1/namespaces/team-a/events")["items"]
    return [e["message"] for e in events if e["reason"] == "ReclaimFailed"]


def _stop_left_midway(led: Led, executor: Executor, *, at: datetime) -> int:
    """A stop without an edge that scaled the predictor and met 503s on the
    transformer: the class is external, the predictor at 0, the row kept planned."""
    led.world.sandbox.faults.add("patch", "deployments", name="llama-transformer",
                                 status=503, times=-1)
    obj = led.world.rest.get(ISVC, "team-a", "llama")
    outcome = executor.apply(Transition(
        ref=LLAMA, uid=st.uid_of(obj), action=Action.STOP, trigger=Trigger.MANUAL,
        reason=Reason.MANUAL, policy=None, at=at, gpus=1, evidence={"via": "cli"}), at=at)
    led.world.sandbox.faults.clear()
    led.world.sandbox.wait_idle(terminations=True)
    assert outcome.kind is OutcomeKind.RETRY and outcome.record_id is not None
    assert _looks(led) == ("external", {"llama-predictor": 0, "llama-transformer": 1})
    return outcome.record_id


def _class_conflicts(led: Led) -> None:
    """Three 409s on the ISVC: every attempt `class_back` makes in one pass."""
    led.world.sandbox.faults.add("patch", "inferenceservices", name="llama", status=409,
                                 times=3)


def test_a_cli_stop_left_midway_is_put_back_by_a_later_pass_after_a_409_storm(
        managed: Led) -> None:
    """A `reclaimer stop` cut off midway (predictor at 0, class external): recovery puts
    it back, and putting the class back meets 409 three times. A transient error
    (DESIGN §5): the row stays pending and the next pass puts it back; it was
    ``failed`` for good, the service PARTIALLY STOPPED, nobody retrying."""
    led = managed
    led.tick(BEGIN)
    cli = Executor(KubeCluster(led.world.rest), led.world.ledger, actor="bob@laptop",
                   sleep=lambda _: None)
    row = _stop_left_midway(led, cli, at=BEGIN + timedelta(minutes=1))
    led.tick(BEGIN + timedelta(minutes=2))  # first seen; the CLI may still be writing
    _class_conflicts(led)
    led.tick(BEGIN + timedelta(minutes=8))
    during = (_states(led, row), _looks(led))
    led.tick(BEGIN + timedelta(minutes=9))
    (closed,) = [r for r in led.world.ledger.history(namespace="team-a", name="llama")
                 if r.id == row]
    assert (during, closed.state, _looks(led), _failed_events(led)) == (
        (RecordState.PLANNED, ("external", {"llama-predictor": 1, "llama-transformer": 1})),
        RecordState.ABANDONED, (None, {"llama-predictor": 1, "llama-transformer": 1}), [])
    assert (closed.error or "").endswith("autoscalerClass removed, as it was")


def test_a_kept_stop_closed_midway_is_put_back_by_a_later_tick_after_a_409_storm(
        managed: Led) -> None:
    """This process's own stop, kept for a retry after 503s midway, whose decision is
    not taken again: closing it puts it back, and the class meets 409 three times. The
    row is kept again and the next tick puts it back; it was ``failed`` for good."""
    led = managed
    led.tick(BEGIN)
    executor = led.world.reconciler.parts.executor
    row = _stop_left_midway(led, executor, at=BEGIN + timedelta(minutes=1))
    _class_conflicts(led)
    first = executor.settle_retries([], at=BEGIN + timedelta(minutes=2))
    during = (_states(led, row), _looks(led))
    (closed,) = executor.settle_retries([], at=BEGIN + timedelta(minutes=3))
    assert (first, during, closed.kind, _states(led, row), _looks(led),
            _failed_events(led)) == (
        [], (RecordState.PLANNED, ("external", {"llama-predictor": 1,
                                                 "llama-transformer": 1})),
        OutcomeKind.ABANDONED, RecordState.ABANDONED,
        (None, {"llama-predictor": 1, "llama-transformer": 1}), [])
