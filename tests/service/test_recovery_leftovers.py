"""Leftovers of the recovery reviews (task h-safe4): a managed Standard stop left
half-done whose putting back meets a 409 storm, and a pending row whose service
answers 403.

Sandbox over HTTP with its fault injection, the loop with its `TermKeeper`, a real
ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import ISVC
from reclaimer.kube.scope import Scope
from reclaimer.ledger import Ledger
from reclaimer.ledger.records import RecordState
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import TermKeeper
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import OFFICE_HOURS, build, quiet, scenario
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



def test_a_kept_stop_whose_putting_back_is_forbidden_fails_once_and_says_so(
        managed: Led) -> None:
    """The other side of DESIGN §5's classes: a 403 on the class (an admission policy)
    would be refused again, so the row fails once, saying PARTIALLY STOPPED and how to
    restore it, with one ``ReclaimFailed`` Event; no later tick tries again."""
    led = managed
    led.tick(BEGIN)
    executor = led.world.reconciler.parts.executor
    row = _stop_left_midway(led, executor, at=BEGIN + timedelta(minutes=1))
    led.world.sandbox.faults.add("patch", "inferenceservices", name="llama", status=403,
                                 times=-1)
    (closed,) = executor.settle_retries([], at=BEGIN + timedelta(minutes=2))
    later = executor.settle_retries([], at=BEGIN + timedelta(minutes=3))
    (event,) = _failed_events(led)
    assert (closed.kind, later, _states(led, row)) == (
        OutcomeKind.FAILED, [], RecordState.FAILED)
    assert "PARTIALLY STOPPED" in closed.message and "PARTIALLY STOPPED" in event
    assert "reclaimer start team-a/llama" in closed.message

MISTRAL_B = ServiceRef("team-b", "mistral")


@pytest.fixture
def scoped(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Scoped]:
    """One replica watching team-a only, with the service's metrics; team-b exists."""
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}),
                                        ("team-b", "mistral", {"tier": "other"}))),
                  tmp_path, policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store, scope=Scope(("team-a",)))
    metrics = ServiceMetrics()
    terms = TermKeeper(world.reconciler, AlwaysLeader(), in_flight=IN_FLIGHT, metrics=metrics)
    yield Scoped(Led(world, terms), metrics)
    world.close()


@dataclass
class Scoped:
    led: Led
    metrics: ServiceMetrics

    def unreadable(self) -> float | None:
        return self.metrics.registry.get_sample_value("reclaimer_pending_rows_unreadable")


def _cut_off_stop(led: Led, ref: ServiceRef, *, at: datetime) -> int:
    """A `reclaimer stop` that recorded its row and died before its PATCH."""
    obj = led.world.rest.get(ISVC, ref.namespace, ref.name)
    return led.world.ledger.record_planned(Transition(
        ref=ref, uid=st.uid_of(obj), action=Action.STOP, trigger=Trigger.MANUAL,
        reason=Reason.MANUAL, policy=None, at=at, gpus=1, evidence={"via": "cli"}),
        strategy="native", actor="bob@laptop", at=at).id


def test_a_row_whose_service_answers_403_is_tried_again_slowly_and_settles_in_the_term(
        scoped: Scoped, caplog: pytest.LogCaptureFixture) -> None:
    """A `reclaimer stop` of a service outside watchNamespaces, cut off before its
    PATCH; GETs of it answer 403 (the service account may not read team-b), then the
    RoleBinding is added. A single replica's term is its life: the row was left until
    a restart. It is tried again every 10 minutes (no LIST on the ticks between), said
    once in the log, counted by ``reclaimer_pending_rows_unreadable``, and settles."""
    led = scoped.led
    led.tick(BEGIN)
    row = _cut_off_stop(led, MISTRAL_B, at=BEGIN + timedelta(minutes=1))
    led.world.sandbox.faults.add("get", "inferenceservices", namespace="team-b",
                                 status=403, times=-1)
    led.tick(BEGIN + timedelta(minutes=2))  # first seen; the CLI may still be writing
    lists = [led.list_isvc_requests(BEGIN + timedelta(minutes=m)) for m in (8, 10, 14)]
    during = (_state_of(led, row), scoped.unreadable())
    lists.append(led.list_isvc_requests(BEGIN + timedelta(minutes=18)))  # 403 again
    led.world.sandbox.faults.clear()
    lists += [led.list_isvc_requests(BEGIN + timedelta(minutes=m)) for m in (20, 28)]
    by_recovery = [n - 1 for n in lists]  # each tick's inventory resync LISTs team-a once
    said = [r.getMessage() for r in caplog.records
            if r.levelname == "WARNING" and f"pending row {row} left" in r.getMessage()]
    assert (by_recovery, during, _state_of(led, row), scoped.unreadable(), len(said)) == (
        [1, 0, 0, 1, 0, 1], (RecordState.PLANNED, 1.0), RecordState.ABANDONED, 0.0, 1)


def _state_of(led: Led, record_id: int) -> RecordState:
    (found,) = [r for r in led.world.ledger.history() if r.id == record_id]
    return found.state
