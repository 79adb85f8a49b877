"""A person starting a managed Standard service by hand is noticed, never fought.

After a verified managed stop (autoscalerClass external, the Deployment at 0, KEDA's
``paused-replicas: "0"``, reclaimer's own ``Stopped`` condition), a person scales the
Deployment up, or takes KEDA's pause off (KEDA then scales it), without touching the
ISVC. The stop is released: its condition removed, the hold ended, one ``external``
start booked at the tick that observed it, no stop again, nothing of the restore
information written over the person's values. The check reads Deployments and
ScaledObjects only while a managed Standard stop is held (counted as API requests).
Sandbox over HTTP (KServe 0.14; 0.15 with its KEDA simulator, class keda), the loop on
a test clock, a real ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.errors import LedgerError
from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.executor.recover import recover_pending
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import DEPLOYMENT, ISVC, SCALED_OBJECT, Rest
from reclaimer.ledger import Ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.records import TransitionRecord
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from reclaimer.service.loop import _managed_stops_as_stopped
from tests.fixtures.failing_ledger import FailingLedger
from tests.fixtures.sandbox import SandboxHandle
from tests.service.conftest import SandboxClock
from tests.service.loop_world import (
    FRIDAY_STOP,
    MONDAY_START,
    OFFICE_HOURS,
    LoopWorld,
    build,
    quiet,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
LLAMA = ServiceRef("team-a", "llama")
CLASS = "serving.kserve.io/autoscalerClass"
PAUSED = "autoscaling.keda.sh/paused-replicas"
Factory = Callable[[dict[str, Any], SandboxClock], SandboxHandle]
CHILD = Path(__file__).with_name("release_child.py")


def _scenario(*, keda: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"namespace": "team-a", "name": "llama", "gpus": 1,
                             "labels": {"tier": "dev"}, "mode": "Standard"}
    if keda:
        entry.update(annotations={CLASS: "keda"}, minReplicas=1, maxReplicas=4, load=3)
    return {"kserve": "0.15" if keda else "0.14", "podTerminationSeconds": 0,
            "namespaces": ["team-a"], "inferenceServices": [entry], "keda": keda}


def _world(factory: Factory, tmp_path: Path, store: Ledger, *, keda: bool
           ) -> tuple[LoopWorld, SandboxClock]:
    clock = SandboxClock(FRIDAY_STOP - timedelta(days=1))
    world = build(factory(_scenario(keda=keda), clock), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    return world, clock


def _tick(world: LoopWorld, clock: SandboxClock, minutes: int) -> int:
    """One tick at FRIDAY_STOP + ``minutes``; the Deployment and ScaledObject LISTs it made."""
    clock.at = FRIDAY_STOP + timedelta(minutes=minutes)
    world.sandbox.request_log.clear()
    world.tick(clock.at)
    return sum(world.sandbox.request_log.count(verb="list", resource=r)
               for r in ("deployments", "scaledobjects"))


def _person(world: LoopWorld, *, keda: bool) -> None:
    person = Rest(api_client_for_host(world.sandbox.url), field_manager="kubectl")
    if keda:
        person.merge_patch(SCALED_OBJECT, "team-a", "llama-predictor",
                           {"metadata": {"annotations": {PAUSED: None}}})
    else:
        person.merge_patch(DEPLOYMENT, "team-a", "llama-predictor",
                           {"spec": {"replicas": 3}}, subresource="scale")
    world.sandbox.wait_idle(terminations=True)


def _replicas(world: LoopWorld) -> int:
    return int(world.rest.get(DEPLOYMENT, "team-a", "llama-predictor")["spec"]["replicas"])


def _acted(records: list[TransitionRecord]) -> list[tuple[Action, Trigger, int]]:
    return [(r.transition.action, r.transition.trigger,
             int((r.transition.at - FRIDAY_STOP).total_seconds() // 60))
            for r in sorted(records, key=lambda r: r.id) if not r.transition.blocked]


@pytest.mark.parametrize("keda", [pytest.param(False, id="deployment-scaled-up"),
                                  pytest.param(True, id="keda-pause-removed")])
def test_a_managed_stop_started_by_hand_is_released_and_booked_once(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger, keda: bool) -> None:
    world, clock = _world(clocked_sandbox, tmp_path, store, keda=keda)
    try:
        before = _tick(world, clock, -60)  # running, governed: nothing held, nothing read
        _tick(world, clock, 0)  # the 19:00 edge: managed stop
        _tick(world, clock, 1)  # verified
        held = _tick(world, clock, 2)  # held: one LIST each
        stopped = (st.own_stopped(world.rest.get(ISVC, "team-a", "llama")), _replicas(world))
        _person(world, keda=keda)
        _tick(world, clock, 10)  # observed: released, external start booked
        after = [_tick(world, clock, m) for m in (11, 12, 40)]
        obj = world.rest.get(ISVC, "team-a", "llama")
        records = world.ledger.history(name="llama")
        in_force = world.ledger.stops_in_force()
        hours = world.ledger.report(since=FRIDAY_STOP - timedelta(hours=1),
                                    now=FRIDAY_STOP + timedelta(minutes=40)).total_gpu_hours
    finally:
        world.close()
    assert stopped == (True, 0)
    assert _acted(records) == [(Action.STOP, Trigger.SCHEDULE, 0),
                               (Action.START, Trigger.EXTERNAL, 10)]
    assert (st.own_stopped(obj), st.condition(obj, st.STOPPED), in_force) == (False, None, [])
    assert _replicas(world) == 3
    # 19:00 to 19:10 (not the 40 minutes it was held), 1 GPU a pod; KEDA ran 3 pods
    assert hours == pytest.approx(10 / 60 * (3 if keda else 1))
    annotations = obj["metadata"].get("annotations") or {}
    assert annotations.get(CLASS) == "external"  # the restore information is not applied
    # held: one Deployment LIST, and one ScaledObject LIST where KEDA's CRD is served
    assert (before, held, after) == (0, 1 + keda, [0, 0, 0])


def test_a_released_stop_is_running_in_the_loop_s_view() -> None:
    """The snapshot taken before the condition was removed still reads stopped."""
    from reclaimer.executor.outcome import ManagedStops  # noqa: PLC0415
    from reclaimer.model import DeploymentMode, Service, ServiceState  # noqa: PLC0415

    service = Service(ref=LLAMA, uid="u", mode=DeploymentMode.STANDARD,
                      state=ServiceState.STOPPED, created_at=FRIDAY_STOP, labels={})
    (seen,) = _managed_stops_as_stopped([service], ManagedStops(
        frozenset(), {LLAMA: "Deployment llama-predictor has 3 replica(s)"}))
    assert seen.state is ServiceState.RUNNING


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres-15")])
def failing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FailingLedger]:
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    upgrade(parse_url(url))
    ledger = FailingLedger.open(url)
    yield ledger
    ledger.close()


def test_a_release_cut_off_before_its_row_is_booked_once_by_the_other_replica(
        clocked_sandbox: Factory, tmp_path: Path, failing: FailingLedger) -> None:
    """Replica A stops; replica B becomes leader and holds the stop (from the ledger);
    A leads again, removes the condition of the stop a person started, and its process
    ends before the external row is written (the ledger refuses it). B, leading next,
    books it once at the tick it observed it; A, leading again, books nothing more. No
    condition written again, no stop again, the person's 3 replicas stay."""
    clock = SandboxClock(FRIDAY_STOP - timedelta(days=1))
    sandbox = clocked_sandbox(_scenario(keda=False), clock)
    policies = {"office": OFFICE_HOURS % {"busy": "force"}}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    a = build(sandbox, tmp_path / "a", policies=policies, scripts={LLAMA: quiet()},
              ledger=failing)
    b = build(sandbox, tmp_path / "b", policies=policies, scripts={LLAMA: quiet()},
              ledger=failing)
    try:
        for world, minutes in ((a, -60), (a, 0), (a, 1), (b, 2)):
            _tick(world, clock, minutes)
        _person(a, keda=False)
        failing.fail_external = True
        with pytest.raises(LedgerError):
            _tick(a, clock, 10)
        cut = (st.own_stopped(a.rest.get(ISVC, "team-a", "llama")),
               len(failing.stops_in_force()))
        failing.fail_external = False
        for world, minutes in ((b, 11), (a, 12), (b, 13), (a, 40)):
            _tick(world, clock, minutes)
        obj = a.rest.get(ISVC, "team-a", "llama")
        records = failing.history(name="llama")
    finally:
        a.close()
        b.close()
    assert (cut, failing.refused) == ((False, 1), 1)
    assert _acted(records) == [(Action.STOP, Trigger.SCHEDULE, 0),
                               (Action.START, Trigger.EXTERNAL, 11)]
    assert (st.condition(obj, st.STOPPED), _replicas(a), failing.stops_in_force()) == (
        None, 3, [])


def test_a_process_killed_between_the_release_and_its_row_books_it_once_after(
        clocked_sandbox: Factory, tmp_path: Path) -> None:
    """A real SIGKILL right after the release removed the condition (SQLite file shared
    with the child): the stop is still in force in the ledger, the condition is gone;
    the next process's tick releases it again and books the external start once."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    ledger = FailingLedger.open(url)
    clock = SandboxClock(FRIDAY_STOP - timedelta(days=1))
    sandbox = clocked_sandbox(_scenario(keda=False), clock)
    policies = {"office": OFFICE_HOURS % {"busy": "force"}}
    world = build(sandbox, tmp_path, policies=policies, scripts={LLAMA: quiet()},
                  ledger=ledger)
    try:
        for minutes in (-60, 0, 1, 2):
            _tick(world, clock, minutes)
        _person(world, keda=False)
        child = subprocess.run(
            [sys.executable, str(CHILD), "--url", sandbox.url, "--db", url],
            capture_output=True, text=True, timeout=60, check=False)
        killed = (child.returncode, st.own_stopped(world.rest.get(ISVC, "team-a", "llama")),
                  len(ledger.stops_in_force()))
        world.close()
        (tmp_path / "next").mkdir()
        world = build(sandbox, tmp_path / "next", policies=policies,
                      scripts={LLAMA: quiet()}, ledger=ledger)
        for minutes in (11, 12, 40):
            _tick(world, clock, minutes)
        records = ledger.history(name="llama")
    finally:
        world.close()
        ledger.close()
    assert killed == (-signal.SIGKILL, False, 1), child.stderr
    assert _acted(records) == [(Action.STOP, Trigger.SCHEDULE, 0),
                               (Action.START, Trigger.EXTERNAL, 11)]
    assert _replicas(world) == 3


def test_a_held_stop_whose_deployments_cannot_be_read_stays_held(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    """A 403 on the Deployment LIST (RBAC changed) while a person has scaled it up: not
    knowing is no start. The stop stays held, its condition stays, nothing is booked;
    once the LIST answers, the start by hand is booked then."""
    world, clock = _world(clocked_sandbox, tmp_path, store, keda=False)
    try:
        for minutes in (-60, 0, 1):
            _tick(world, clock, minutes)
        _person(world, keda=False)
        world.sandbox.faults.add("list", "deployments", status=403, times=-1)
        _tick(world, clock, 10)
        blind = (st.own_stopped(world.rest.get(ISVC, "team-a", "llama")),
                 len(world.ledger.stops_in_force()))
        world.sandbox.faults.clear()
        _tick(world, clock, 11)
        records = world.ledger.history(name="llama")
    finally:
        world.close()
    assert blind == (True, 1)
    assert _acted(records) == [(Action.STOP, Trigger.SCHEDULE, 0),
                               (Action.START, Trigger.EXTERNAL, 11)]


def test_a_start_of_ours_cut_off_before_the_class_is_not_released_as_by_hand(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    """The Monday start edge puts the replicas back, then a 409 storm on the ISVC
    (KServe writes its status as the Deployment comes up) fails the class write: the
    start row is kept for the edge's retry, the class still says external and the
    Deployment is up. That is reclaimer's own start half done, not a person's: it is
    not released as one (no external row), the retry finishes it (class put back),
    and the ledger books the schedule's start once."""
    world, clock = _world(clocked_sandbox, tmp_path, store, keda=False)
    monday = int((MONDAY_START - FRIDAY_STOP).total_seconds() // 60)
    try:
        for minutes in (-60, 0, 1, 2):
            _tick(world, clock, minutes)
        world.sandbox.faults.add("patch", "inferenceservices", status=409, times=-1)
        _tick(world, clock, monday)
        world.sandbox.faults.clear()
        cut = (_replicas(world), _class(world))
        for minutes in (1, 2, 3):
            _tick(world, clock, monday + minutes)
        records = world.ledger.history(name="llama")
        left = _class(world)
    finally:
        world.close()
    assert cut == (1, "external")
    assert [(a, t) for a, t, _ in _acted(records)] == [(Action.STOP, Trigger.SCHEDULE),
                                                      (Action.START, Trigger.SCHEDULE)]
    assert (left, _replicas(world)) == (None, 1)


def _class(world: LoopWorld) -> str | None:
    annotations = world.rest.get(ISVC, "team-a", "llama")["metadata"].get("annotations") or {}
    return annotations.get(CLASS)


def test_a_person_scaling_up_while_our_stop_is_verified_fails_it_and_is_booked(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    """Pods take 3 s to terminate, so the stop is applied and not yet verified when a
    person scales the Deployment to 3. The row being verified does not keep the stop
    from being released (only a change of ours still planned, or a start, does): the
    condition goes, the stop fails its verification, and the start is booked once,
    as external, at the tick after it failed (the row being verified says nothing of
    anyone else until then). The person's 3 replicas stay."""
    clock = SandboxClock(FRIDAY_STOP - timedelta(days=1))
    scenario = {**_scenario(keda=False), "podTerminationSeconds": 3}
    world = build(clocked_sandbox(scenario, clock), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    try:
        for minutes in (-60, 0):
            _tick(world, clock, minutes)
        Rest(api_client_for_host(world.sandbox.url), field_manager="kubectl").merge_patch(
            DEPLOYMENT, "team-a", "llama-predictor", {"spec": {"replicas": 3}},
            subresource="scale")
        for minutes in (1, 2, 6, 7, 8, 30):
            _tick(world, clock, minutes)
        obj = world.rest.get(ISVC, "team-a", "llama")
        records = world.ledger.history(name="llama")
    finally:
        world.close()
    assert [(r.transition.action, r.transition.trigger, r.state.value) for r in sorted(
        records, key=lambda r: r.id) if not r.transition.blocked] == [
        (Action.STOP, Trigger.SCHEDULE, "failed"), (Action.START, Trigger.EXTERNAL, "observed")]
    assert (st.own_stopped(obj), _replicas(world), world.ledger.stops_in_force()) == (
        False, 3, [])


def test_a_process_that_may_not_write_releases_nothing(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    """Its lease past the margin (the guard says so) while a person has scaled the
    Deployment up: no condition removed, nothing booked; once it may write again, the
    start by hand is released and booked then, once."""
    world, clock = _world(clocked_sandbox, tmp_path, store, keda=False)
    executor = world.reconciler.parts.executor
    try:
        for minutes in (-60, 0, 1, 2):
            _tick(world, clock, minutes)
        _person(world, keda=False)
        executor.guard = lambda: "lease not renewed within the safety margin"
        _tick(world, clock, 10)
        fenced = st.own_stopped(world.rest.get(ISVC, "team-a", "llama"))
        executor.guard = lambda: None
        _tick(world, clock, 11)
        records = world.ledger.history(name="llama")
    finally:
        world.close()
    assert fenced is True
    assert _acted(records) == [(Action.STOP, Trigger.SCHEDULE, 0),
                               (Action.START, Trigger.EXTERNAL, 11)]


@pytest.mark.parametrize("pause", [pytest.param("00", id="zero-written-00"),
                                   pytest.param("+0", id="zero-written-plus-0")])
def test_a_pause_keda_reads_as_zero_keeps_the_stop_held(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger, pause: str) -> None:
    """KEDA parses the pause as a base-10 integer: a person's ``"00"`` still holds the
    Deployment at 0, so nothing was started and nothing is booked."""
    world, clock = _world(clocked_sandbox, tmp_path, store, keda=True)
    try:
        for minutes in (-60, 0, 1):
            _tick(world, clock, minutes)
        person = Rest(api_client_for_host(world.sandbox.url), field_manager="kubectl")
        person.merge_patch(SCALED_OBJECT, "team-a", "llama-predictor",
                           {"metadata": {"annotations": {PAUSED: pause}}})
        world.sandbox.wait_idle(terminations=True)
        _tick(world, clock, 10)
        held = (st.own_stopped(world.rest.get(ISVC, "team-a", "llama")),
                len(world.ledger.stops_in_force()), _replicas(world))
        records = world.ledger.history(name="llama")
    finally:
        world.close()
    assert held == (True, 1, 0)
    assert _acted(records) == [(Action.STOP, Trigger.SCHEDULE, 0)]


STARTED = FRIDAY_STOP + timedelta(minutes=10)


def _start_cut_off(world: LoopWorld, *, actor: str, at: datetime) -> OutcomeKind:
    """Another process's manual start of llama whose class write a 409 storm fails
    after the replicas went back: its row is left ``planned``."""
    obj = world.rest.get(ISVC, "team-a", "llama")
    other = Executor(KubeCluster(world.rest), world.ledger, actor=actor)
    world.sandbox.faults.add("patch", "inferenceservices", status=409, times=-1)
    try:
        return other.apply(Transition(
            ref=LLAMA, uid=st.uid_of(obj), action=Action.START, trigger=Trigger.MANUAL,
            reason=Reason.MANUAL, policy=None, at=at, gpus=1,
            evidence={"via": "cli"}), at=at).kind
    finally:
        world.sandbox.faults.clear()


def test_a_cli_start_cut_off_and_left_planned_does_not_keep_the_stop_held_for_good(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    """`reclaimer start` puts the replicas back, then a 409 storm on the ISVC fails its
    class write: the CLI reports a retry and exits, its row left ``planned`` with nobody
    to retry it (the leader's recovery ran at the start of its term). The service runs,
    and a person scales it to 3. A row of another process that no recovery of this
    term has seen does not hold the stop in place (counted stopped while it serves)
    until the next term: the stop is released (its condition gone)."""
    world, clock = _world(clocked_sandbox, tmp_path, store, keda=False)
    try:
        for minutes in (-60, 0, 1, 2):
            _tick(world, clock, minutes)
        kind = _start_cut_off(world, actor="alice@laptop", at=STARTED)
        _person(world, keda=False)
        for minutes in (11, 12, 60, 120):
            _tick(world, clock, minutes)
        in_place = world.reconciler.parts.executor.managed_stops_in_place()
        condition = st.own_stopped(world.rest.get(ISVC, "team-a", "llama"))
    finally:
        world.close()
    assert kind is OutcomeKind.RETRY
    assert (LLAMA in in_place, condition, _replicas(world)) == (False, False, 3)


def test_a_row_recovery_saw_in_flight_still_defers_the_release(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    """The same start left ``planned``, by another replica that lost its lease: the
    new leader's recovery sees it and leaves it while it may still be written (within
    ``in_flight``). Until then the stop stays held (that row is somebody's change half
    done); once recovery abandons it, the stop is released as started by hand."""
    world, clock = _world(clocked_sandbox, tmp_path, store, keda=False)
    executor = world.reconciler.parts.executor
    try:
        for minutes in (-60, 0, 1, 2):
            _tick(world, clock, minutes)
        _start_cut_off(world, actor="replica-b", at=STARTED)
        left = recover_pending(executor, at=STARTED, in_flight=timedelta(minutes=15)).left
        _tick(world, clock, 11)
        held = LLAMA in executor.managed_stops_in_place()
        recover_pending(executor, at=STARTED + timedelta(minutes=20),
                        in_flight=timedelta(minutes=15))
        _tick(world, clock, 30)
        released = LLAMA not in executor.managed_stops_in_place()
    finally:
        world.close()
    assert (left, held, released) == (1, True, True)
