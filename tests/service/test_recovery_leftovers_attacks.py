"""Attacks on the leftovers of h-safe4 (review r-safe4): a retried putting back whose
class write lands while its answer is lost, the unreadable rows' gauge on a replica that
loses the lease, a 409 storm that never ends.

Sandbox over HTTP with its fault injection, the loop with its `TermKeeper`, a real
ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.executor.recover import recover_pending
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.kube.rest import ISVC, Rest
from reclaimer.kube.scope import Scope
from reclaimer.ledger import Ledger
from reclaimer.ledger.records import WAIT_KEY, RecordState
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import TermKeeper, WriteGuard
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle
from tests.service.loop_world import OFFICE_HOURS, build, quiet, scenario
from tests.service.test_mid_term_recovery import BEGIN, IN_FLIGHT, LLAMA, Led, _states
from tests.service.test_recovery_leftovers import (
    CLASS,
    MANAGED,
    MISTRAL_B,
    _cut_off_stop,
    _failed_events,
    _looks,
    _state_of,
    _stop_left_midway,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
PUT_BACK = ("rolled back: Deployment llama-predictor scaled back to 1, "
            "autoscalerClass removed, as it was")


@pytest.fixture
def managed(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Led]:
    """One replica on KServe 0.15 (a managed Standard stop), as in the leftovers' tests."""
    world = build(make_sandbox(MANAGED), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    yield Led(world, TermKeeper(world.reconciler, AlwaysLeader(), in_flight=IN_FLIGHT))
    world.close()


def _impatient(led: Led) -> Executor:
    """An executor whose calls give up after 1 s: a write the server makes later (a
    response lost, a 504 after etcd committed) is a transient failure to it."""
    rest = Rest(led.world.rest.api_client, timeout=1.0)
    return Executor(KubeCluster(rest), led.world.ledger, actor=led.world.reconciler.parts
                    .executor.actor, sleep=lambda _: None)


def _class_lands_late(led: Led) -> None:
    """The next PATCH of the ISVC is answered after the caller gave up; it lands."""
    led.world.sandbox.faults.add("patch", "inferenceservices", name="llama", delay=2.0)


def _wait_class(led: Led, value: str | None) -> None:
    deadline = time.monotonic() + 10
    while st.annotations_of(led.world.rest.get(ISVC, "team-a", "llama")).get(CLASS) != value:
        assert time.monotonic() < deadline, f"the class never became {value!r}"
        time.sleep(0.05)


def _stop_and_start(led: Led, executor: Executor, *, at: datetime) -> None:
    for action in (Action.STOP, Action.START):
        obj = led.world.rest.get(ISVC, "team-a", "llama")
        outcome = executor.apply(Transition(
            ref=LLAMA, uid=st.uid_of(obj), action=action, trigger=Trigger.MANUAL,
            reason=Reason.MANUAL, policy=None, at=at, gpus=1), at=at)
        assert outcome.kind is OutcomeKind.APPLIED, outcome.message
        led.world.sandbox.wait_idle(terminations=True)


def test_a_kept_stop_whose_class_put_back_lands_unanswered_says_so_and_is_used(
        managed: Led) -> None:
    """A kept stop closed with no new decision: its predictor goes back, and the PATCH
    putting the class back lands after the caller gave up (a transient error, kept
    again). The next tick finds every field back: the row must say what was put back,
    and the restore information must be marked used, so a person who later runs the
    replicas by hand (class ``external``) keeps that class through a later stop and
    start. On h-safe4 the row said only why it closed, and the next start removed the
    person's class (the old stop's restore information was resumed)."""
    led = managed
    led.tick(BEGIN)
    executor = _impatient(led)
    row = _stop_left_midway(led, executor, at=BEGIN + timedelta(minutes=1))
    _class_lands_late(led)
    first = executor.settle_retries([], at=BEGIN + timedelta(minutes=2))
    _wait_class(led, None)
    (closed,) = executor.settle_retries([], at=BEGIN + timedelta(minutes=3))
    led.world.rest.merge_patch(ISVC, "team-a", "llama", {"metadata": {"annotations": {
        CLASS: "external"}}})  # a person runs the replicas by hand from now on
    _stop_and_start(led, executor, at=BEGIN + timedelta(minutes=4))
    assert (first, closed.record_id, closed.kind) == ([], row, OutcomeKind.ABANDONED)
    assert (closed.message.endswith(PUT_BACK), _looks(led)) == (
        True, ("external", {"llama-predictor": 1, "llama-transformer": 1}))


def test_a_cli_stop_whose_class_put_back_lands_unanswered_says_so_and_is_used(
        managed: Led) -> None:
    """The same through recovery: a `reclaimer stop` cut off midway, put back by the
    term's pass, the class's PATCH landing after the caller gave up; the next pass
    closes the row saying what was put back and marks the restore information used."""
    led = managed
    led.tick(BEGIN)
    cli = Executor(KubeCluster(led.world.rest), led.world.ledger, actor="bob@laptop",
                   sleep=lambda _: None)
    row = _stop_left_midway(led, cli, at=BEGIN + timedelta(minutes=1))
    impatient = _impatient(led)  # the successor's recovery, its calls giving up after 1 s
    seen = recover_pending(impatient, at=BEGIN + timedelta(minutes=2))  # the CLI may write
    _class_lands_late(led)
    put_back = recover_pending(impatient, at=BEGIN + timedelta(minutes=8))
    _wait_class(led, None)
    recover_pending(impatient, at=BEGIN + timedelta(minutes=9))
    assert ([o.kind for o in seen.outcomes], [o.kind for o in put_back.outcomes]) == (
        [], [OutcomeKind.RETRY])
    (closed,) = [r for r in led.world.ledger.history(namespace="team-a", name="llama")
                 if r.id == row]
    led.world.rest.merge_patch(ISVC, "team-a", "llama", {"metadata": {"annotations": {
        CLASS: "external"}}})
    later = Executor(KubeCluster(led.world.rest), led.world.ledger, actor="bob@laptop",
                     sleep=lambda _: None)  # a later `reclaimer stop`, then `start`
    _stop_and_start(led, later, at=BEGIN + timedelta(minutes=10))
    assert ((closed.error or "").endswith(PUT_BACK), _looks(led)) == (
        True, ("external", {"llama-predictor": 1, "llama-transformer": 1}))


LEASE = LeaseSettings(namespace="team-a", name="reclaimer-leader", identity="a",
                      lease_duration=3.0, renew_deadline=2.0, retry_period=0.5)


@dataclass
class Replica:
    """One replica as `reclaimer run` drives it: renewed, then ticked while leader only
    (`TickScheduler.run_tick`), with its own metrics."""

    led: Led
    elector: LeaderElector
    metrics: ServiceMetrics

    def tick(self, at: datetime, *, renew: bool = True) -> bool:
        if renew:
            self.elector.try_acquire_or_renew()
        if not self.elector.is_leader():
            return False
        self.led.tick(at)
        return True

    def unreadable(self) -> float | None:
        return self.metrics.registry.get_sample_value("reclaimer_pending_rows_unreadable")


def _replica(sandbox: SandboxHandle, tmp_path: Path, store: Ledger, identity: str) -> Replica:
    world = build(sandbox, tmp_path, policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store, scope=Scope(("team-a",)))
    elector = LeaderElector(world.rest, replace(LEASE, identity=identity),
                            now=lambda: datetime.now(UTC))
    metrics = ServiceMetrics()
    terms = TermKeeper(world.reconciler, elector, in_flight=IN_FLIGHT, metrics=metrics)
    return Replica(Led(world, terms), elector, metrics)


@pytest.fixture
def pair(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger
         ) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas watching team-a only, on one Lease and one ledger; team-b exists."""
    sandbox = make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}),
                                    ("team-b", "mistral", {"tier": "other"})))
    a, b = (_replica(sandbox, tmp_path, store, name) for name in ("a", "b"))
    yield a, b
    for replica in (a, b):
        replica.led.world.close()


def test_a_replica_that_lost_the_lease_no_longer_counts_unreadable_rows(
        pair: tuple[Replica, Replica]) -> None:
    """Replica a finds a pending row whose service answers 403 and counts it; it loses
    the lease (it stops ticking, as a follower does), b takes over, the RoleBinding is
    added and b settles the row. Only a leader settles rows, so only a leader counts
    them: a's gauge must not keep saying 1 beside b's 0 (on h-safe4 it did, for as
    long as a lived, a `max` or `sum` over replicas firing for a settled row)."""
    a, b = pair
    assert a.tick(BEGIN)
    row = _cut_off_stop(a.led, MISTRAL_B, at=BEGIN + timedelta(minutes=1))
    a.led.world.sandbox.faults.add("get", "inferenceservices", namespace="team-b",
                                   status=403, times=-1)
    assert a.tick(BEGIN + timedelta(minutes=2))  # first seen; the CLI may still be writing
    assert a.tick(BEGIN + timedelta(minutes=8))
    counted = a.unreadable()
    deadline = time.monotonic() + 10  # a no longer renews: its lease runs out
    while not b.tick(BEGIN + timedelta(minutes=9)):
        assert time.monotonic() < deadline, "b never took the lease"
        time.sleep(0.2)
    a.led.world.sandbox.faults.clear()
    assert b.tick(BEGIN + timedelta(minutes=15))
    assert (counted, _state_of(b.led, row), a.tick(BEGIN + timedelta(minutes=16),
                                                   renew=False)) == (
        1.0, RecordState.ABANDONED, False)
    assert (a.unreadable(), b.unreadable()) == (0.0, 0.0)


def _events(led: Led) -> list[str]:
    items = led.world.rest.request("GET", "/api/v1/namespaces/team-a/events")["items"]
    return sorted(f"{e['reason']}x{e.get('count', 1)}" for e in items)


@pytest.mark.parametrize("kept", [pytest.param(True, id="kept-row"),
                                  pytest.param(False, id="cli-row-recovered")])
def test_a_409_storm_that_never_ends_costs_the_same_each_tick_and_adds_nothing(
        managed: Led, kept: bool, caplog: pytest.LogCaptureFixture) -> None:
    """Putting back meets 409 on the class at every attempt, for 20 ticks: after the
    first (which scales the predictor back) each tick costs the same API calls (16 for
    the kept row, 18 for the CLI's: recovery LISTs every ISVC each tick) and one
    warning; no row, no Event, no memory grows; the row stays planned (never ``failed``
    over a half-stopped service). Once the storm ends, the next tick puts the class
    back and closes the row. Passes on h-safe4."""
    led = managed
    led.tick(BEGIN)
    executor = led.world.reconciler.parts.executor
    writer = executor if kept else Executor(KubeCluster(led.world.rest), led.world.ledger,
                                            actor="bob@laptop", sleep=lambda _: None)
    row = _stop_left_midway(led, writer, at=BEGIN + timedelta(minutes=1))
    led.world.sandbox.faults.add("patch", "inferenceservices", name="llama", status=409,
                                 times=-1)
    led.tick(BEGIN + timedelta(minutes=2))  # first seen; the CLI may still be writing
    log = led.world.sandbox.request_log
    cost, rows, events, memory, said = [], [], [], [], []
    for minute in range(8, 28):
        log.clear()
        caplog.clear()
        led.tick(BEGIN + timedelta(minutes=minute))
        cost.append(len(log))
        rows.append(len(led.world.ledger.history()))
        events.append(_events(led))
        memory.append((len(executor.memory.ours()), len(executor.memory._seen)))
        said.append(len([r for r in caplog.records if r.levelname == "WARNING"]))
    during = (_states(led, row), _looks(led))
    led.world.sandbox.faults.clear()
    led.tick(BEGIN + timedelta(minutes=28))
    assert (len(set(cost[1:])), len(set(rows)), len(set(map(tuple, events))), len(set(memory)),
            set(said)) == (1, 1, 1, 1, {1})
    assert (during, _states(led, row), _looks(led), _failed_events(led)) == (
        (RecordState.PLANNED, ("external", {"llama-predictor": 1, "llama-transformer": 1})),
        RecordState.ABANDONED, (None, {"llama-predictor": 1, "llama-transformer": 1}), [])


def _person(led: Led, action: Action, *, at: datetime) -> OutcomeKind:
    """A person's `reclaimer stop`/`start` (a process of its own), verified by it."""
    cli = Executor(KubeCluster(led.world.rest), led.world.ledger, actor="carol@laptop",
                   sleep=lambda _: None)
    obj = led.world.rest.get(ISVC, "team-a", "llama")
    outcome = cli.apply(Transition(
        ref=LLAMA, uid=st.uid_of(obj), action=action, trigger=Trigger.MANUAL,
        reason=Reason.MANUAL, policy=None, at=at, gpus=1, evidence={"via": "cli"}), at=at)
    led.world.sandbox.wait_idle(terminations=True)
    return outcome.kind


LEFT_CREDIT = pytest.mark.xfail(strict=True, reason=(
    "left (report r-safe4): recovery credits the CLI's row, whose stop it was putting "
    "back, with the person's later stop (verified, GPU-hours from its earlier time); "
    "the person's stop drops the put-back's mark, and no ledger-only rule is sound "
    "(test_mid_term_recovery_attacks: a CLI stop undone by hand keeps its credit)"))


@pytest.mark.parametrize(("kept", "action"), [
    pytest.param(True, Action.START, id="kept-row-start"),
    pytest.param(False, Action.START, id="cli-row-recovered-start"),
    pytest.param(True, Action.STOP, id="kept-row-stop"),
    pytest.param(False, Action.STOP, id="cli-row-recovered-stop", marks=LEFT_CREDIT)])
def test_a_person_acting_while_a_put_back_is_retried_is_not_fought(
        managed: Led, kept: bool, action: Action) -> None:
    """A half-done stop whose putting back meets a 409 storm on the class; meanwhile a
    person runs `reclaimer start` (or `reclaimer stop`) on the service, which succeeds.
    The retried putting back must leave the person's result as it is and close its
    row. On h-safe4 a kept row's next tick put the person's `reclaimer stop` back (the
    service running again); a start held (the restore information is marked used)."""
    led = managed
    led.tick(BEGIN)
    writer = (led.world.reconciler.parts.executor if kept else Executor(
        KubeCluster(led.world.rest), led.world.ledger, actor="bob@laptop",
        sleep=lambda _: None))
    row = _stop_left_midway(led, writer, at=BEGIN + timedelta(minutes=1))
    led.world.sandbox.faults.add("patch", "inferenceservices", name="llama", status=409,
                                 times=3)
    led.tick(BEGIN + timedelta(minutes=2))  # kept: the storm; a CLI row: first seen
    if not kept:
        led.tick(BEGIN + timedelta(minutes=8))  # the storm
    assert (_states(led, row), led.world.sandbox.faults.pending()) == (
        RecordState.PLANNED, 0)
    person = _person(led, action, at=BEGIN + timedelta(minutes=9))
    after_person = _looks(led)
    for minute in (10, 11, 12):
        led.tick(BEGIN + timedelta(minutes=minute))
    assert (person, _looks(led), _states(led, row)) == (
        OutcomeKind.APPLIED, after_person, RecordState.ABANDONED)


@pytest.fixture
def outside(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Replica]:
    """One replica watching team-a only; team-b holds 20 services, team-c one."""
    services = [("team-a", "llama", {"tier": "dev"}), ("team-c", "qwen", {"tier": "x"}),
                *[("team-b", f"m{i}", {"tier": "x"}) for i in range(20)]]
    world = build(make_sandbox(scenario(*services)), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store, scope=Scope(("team-a",)))
    metrics = ServiceMetrics()
    terms = TermKeeper(world.reconciler, AlwaysLeader(), in_flight=IN_FLIGHT, metrics=metrics)
    yield Replica(Led(world, terms), LeaderElector(world.rest, LEASE, now=lambda: BEGIN),
                  metrics)
    world.close()


def _reads(led: Led, at: datetime) -> tuple[int, int]:
    """(LISTs of ISVCs by recovery, GETs of team-b's ISVCs) made by one tick."""
    log = led.world.sandbox.request_log
    log.clear()
    led.tick(at)
    return (log.count(verb="list", resource="inferenceservices") - 1,
            log.count(verb="get", resource="inferenceservices", namespace="team-b"))


def test_many_unreadable_rows_cost_reads_only_every_10_minutes_whatever_the_clock(
        outside: Replica, caplog: pytest.LogCaptureFixture) -> None:
    """20 `reclaimer stop`s cut off in team-b (GETs answer 403): after the pass that
    finds them, the ticks between the 10-minute retries read nothing for them. The
    clock jumps back an hour: the rows are in flight again by this process's first
    sight of them, nothing is read, and they are still counted; an hour ahead, one
    pass reads them. Each is said once. On h-safe4 the pass that read nothing (every row
    in flight) forgot them: the gauge said 0 for rows still unreadable, and the pass
    after the clock caught up said each again."""
    led = outside.led
    led.tick(BEGIN)
    at = BEGIN + timedelta(minutes=1)
    for i in range(20):
        _cut_off_stop(led, ServiceRef("team-b", f"m{i}"), at=at)
    led.world.sandbox.faults.add("get", "inferenceservices", namespace="team-b",
                                 status=403, times=-1)
    led.tick(BEGIN + timedelta(minutes=2))  # first seen; the CLIs may still be writing
    found = [_reads(led, BEGIN + timedelta(minutes=m)) for m in (8, 9, 12, 17, 18)]
    back = [(_reads(led, BEGIN + timedelta(minutes=m)), outside.unreadable())
            for m in (-50, -49)]
    ahead = [_reads(led, BEGIN + timedelta(minutes=m)) for m in (90, 91)]  # an hour on
    said = [r for r in caplog.records if "cannot be read" in r.getMessage()
            and r.levelname == "WARNING"]
    assert (found, back, ahead, len(said), outside.unreadable()) == (
        [(1, 20), (0, 0), (0, 0), (0, 0), (1, 20)], [((0, 0), 20.0), ((0, 0), 20.0)],
        [(1, 20), (0, 0)], 20, 20.0)


def test_unreadable_rows_are_not_read_each_tick_while_a_cli_waits_on_its_row(
        outside: Replica) -> None:
    """The same 20 rows, and a `reclaimer stop` of llama waiting 10 minutes on its row
    (in flight, left to the CLI): the pending row makes each tick look for rows to
    settle, and on h-safe4 each such pass LISTed every ISVC and GET the 20 unreadable
    services again, every tick of the CLI's wait, the very cost the 10-minute retry
    is there to avoid. The rows waiting for their retry are left out of the pass."""
    led = outside.led
    led.tick(BEGIN)
    for i in range(20):
        _cut_off_stop(led, ServiceRef("team-b", f"m{i}"), at=BEGIN + timedelta(minutes=1))
    led.world.sandbox.faults.add("get", "inferenceservices", namespace="team-b",
                                 status=403, times=-1)
    led.tick(BEGIN + timedelta(minutes=2))
    found = _reads(led, BEGIN + timedelta(minutes=8))
    led.manual(Action.STOP, actor="bob@laptop", at=BEGIN + timedelta(minutes=8),
               evidence={"via": "cli", WAIT_KEY: 600})
    waits = [_reads(led, BEGIN + timedelta(minutes=m)) for m in (9, 10, 12, 14, 16)]
    assert (found, waits, outside.unreadable()) == ((1, 20), [(0, 0)] * 5, 20.0)


def test_unreadable_rows_are_not_read_each_tick_while_another_row_is_retried(
        outside: Replica) -> None:
    """The same 20 rows beside one whose service answers 500 (retried each tick, as it
    should: one LIST each tick): the 20 unreadable services are not read again until
    their retry. On h-safe4 each tick's pass GET them all."""
    led = outside.led
    led.tick(BEGIN)
    at = BEGIN + timedelta(minutes=1)
    for i in range(20):
        _cut_off_stop(led, ServiceRef("team-b", f"m{i}"), at=at)
    _cut_off_stop(led, ServiceRef("team-c", "qwen"), at=at)
    faults = led.world.sandbox.faults
    faults.add("get", "inferenceservices", namespace="team-b", status=403, times=-1)
    faults.add("get", "inferenceservices", namespace="team-c", status=500, times=-1)
    led.tick(BEGIN + timedelta(minutes=2))
    reads = [_reads(led, BEGIN + timedelta(minutes=m)) for m in (8, 9, 12)]
    assert reads == [(1, 20), (1, 0), (1, 0)]


@pytest.mark.parametrize("kept", [pytest.param(True, id="kept-row"),
                                  pytest.param(False, id="cli-row-recovered")])
def test_a_permanent_error_after_transient_ones_fails_the_row_once(
        managed: Led, kept: bool) -> None:
    """Putting back meets three 409s (the row stays planned), then a 403 on the class
    (an admission policy): the row fails once, saying PARTIALLY STOPPED, with one
    ``ReclaimFailed`` Event, and no later tick tries again. Passes on h-safe4."""
    led = managed
    led.tick(BEGIN)
    writer = (led.world.reconciler.parts.executor if kept else Executor(
        KubeCluster(led.world.rest), led.world.ledger, actor="bob@laptop",
        sleep=lambda _: None))
    row = _stop_left_midway(led, writer, at=BEGIN + timedelta(minutes=1))
    faults = led.world.sandbox.faults
    faults.add("patch", "inferenceservices", name="llama", status=409, times=3)
    led.tick(BEGIN + timedelta(minutes=2))
    if not kept:
        led.tick(BEGIN + timedelta(minutes=8))
    during = _states(led, row)
    faults.add("patch", "inferenceservices", name="llama", status=403, times=-1)
    log = led.world.sandbox.request_log
    for minute in (9, 10, 11):
        log.clear()
        led.tick(BEGIN + timedelta(minutes=minute))
    (event,) = _failed_events(led)
    (closed,) = [r for r in led.world.ledger.history() if r.id == row]
    assert (during, closed.state, log.count(verb="patch", resource="inferenceservices"),
            _looks(led)) == (
        RecordState.PLANNED, RecordState.FAILED, 0,
        ("external", {"llama-predictor": 1, "llama-transformer": 1}))
    assert "PARTIALLY STOPPED" in (closed.error or "") and "PARTIALLY STOPPED" in event


def test_an_unreadable_row_settled_by_another_process_is_no_longer_counted(
        outside: Replica) -> None:
    """One of the 20 unreadable rows is settled by its CLI meanwhile (it came back
    and closed its row): the next tick stops counting it, with no LIST and no GET.
    Passes on h-safe4."""
    led = outside.led
    led.tick(BEGIN)
    rows = [_cut_off_stop(led, ServiceRef("team-b", f"m{i}"), at=BEGIN + timedelta(minutes=1))
            for i in range(20)]
    led.world.sandbox.faults.add("get", "inferenceservices", namespace="team-b",
                                 status=403, times=-1)
    led.tick(BEGIN + timedelta(minutes=2))
    found = (_reads(led, BEGIN + timedelta(minutes=8)), outside.unreadable())
    led.world.ledger.mark_abandoned(rows[0], at=BEGIN + timedelta(minutes=9),
                                    error="the CLI gave up")
    after = (_reads(led, BEGIN + timedelta(minutes=9)), outside.unreadable())
    assert (found, after) == (((1, 20), 20.0), ((0, 0), 19.0))


def _managed_replica(sandbox: SandboxHandle, tmp_path: Path, store: Ledger,
                     identity: str) -> Replica:
    world = build(sandbox, tmp_path, policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    world.reconciler.parts.executor.actor = identity  # each replica's pod name
    elector = LeaderElector(world.rest, replace(LEASE, identity=identity),
                            now=lambda: datetime.now(UTC))
    world.reconciler.parts.executor.guard = WriteGuard(
        elector, stopping=threading.Event(), budget=math.inf, metrics=ServiceMetrics())
    metrics = ServiceMetrics()
    terms = TermKeeper(world.reconciler, elector, in_flight=IN_FLIGHT, metrics=metrics)
    return Replica(Led(world, terms), elector, metrics)


@pytest.fixture
def managed_pair(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger
                 ) -> Iterator[tuple[Replica, Replica]]:
    sandbox = make_sandbox(MANAGED)
    a, b = (_managed_replica(sandbox, tmp_path, store, name) for name in ("a", "b"))
    yield a, b
    for replica in (a, b):
        replica.led.world.close()


def test_two_replicas_never_both_put_back_a_kept_stop(
        managed_pair: tuple[Replica, Replica]) -> None:
    """Replica a keeps a half-done stop whose putting back meets a 409 storm, then
    loses the lease; b takes over: b leaves a's row for its in-flight time (a may still
    be writing), then puts it back once. a, leader again later, finds the row settled
    and writes nothing. Every PATCH of the class is counted. Passes on h-safe4."""
    a, b = managed_pair
    assert a.tick(BEGIN)
    row = _stop_left_midway(a.led, a.led.world.reconciler.parts.executor,
                            at=BEGIN + timedelta(minutes=1))
    log, faults = a.led.world.sandbox.request_log, a.led.world.sandbox.faults
    faults.add("patch", "inferenceservices", name="llama", status=409, times=-1)
    assert a.tick(BEGIN + timedelta(minutes=2))  # kept again
    faults.clear()
    deadline = time.monotonic() + 10  # a no longer renews: its lease runs out
    while not b.tick(BEGIN + timedelta(minutes=3)):  # b's first sight of a's row
        assert time.monotonic() < deadline, "b never took the lease"
        time.sleep(0.2)
    left_by_b = _states(b.led, row)
    log.clear()
    assert b.tick(BEGIN + timedelta(minutes=6))
    left_again = _states(b.led, row)  # a planned manual row: its API calls, 5 min
    log.clear()
    assert b.tick(BEGIN + timedelta(minutes=9))  # out of flight: b puts back
    by_b = log.count(verb="patch", resource="inferenceservices")
    log.clear()
    deadline = time.monotonic() + 10
    while not a.tick(BEGIN + timedelta(minutes=10)):  # b stops renewing; a leads again
        assert time.monotonic() < deadline, "a never took the lease back"
        time.sleep(0.2)
    assert (left_by_b, left_again, by_b, _states(a.led, row), log.count(verb="patch"),
            _looks(a.led), _failed_events(a.led)) == (
        RecordState.PLANNED, RecordState.PLANNED, 1, RecordState.ABANDONED, 0,
        (None, {"llama-predictor": 1, "llama-transformer": 1}), [])


def test_a_class_put_back_by_hand_before_the_deployments_is_finished_by_the_next_try(
        managed: Led) -> None:
    """A kept stop's putting back meets a 409 storm on its first field (the
    predictor's scale), then a person removes ``autoscalerClass`` by hand: the class
    is back before the Deployments. The next tick finishes putting back (the predictor
    scaled back from 0) and the row says so; on h-safe4 it closed the row
    ``abandoned`` with the predictor left at 0, a half-stopped service nobody retried."""
    led = managed
    led.tick(BEGIN)
    executor = led.world.reconciler.parts.executor
    row = _stop_left_midway(led, executor, at=BEGIN + timedelta(minutes=1))
    led.world.sandbox.faults.add("patch", "deployments", name="llama-predictor", status=409,
                                 times=3)
    led.tick(BEGIN + timedelta(minutes=2))
    during = (_states(led, row), _looks(led))
    led.world.rest.merge_patch(ISVC, "team-a", "llama", {"metadata": {"annotations": {
        CLASS: None}}})
    led.tick(BEGIN + timedelta(minutes=3))
    led.world.sandbox.wait_idle(terminations=True)
    (closed,) = [r for r in led.world.ledger.history() if r.id == row]
    assert (during, closed.state, _looks(led)) == (
        (RecordState.PLANNED, ("external", {"llama-predictor": 0, "llama-transformer": 1})),
        RecordState.ABANDONED, (None, {"llama-predictor": 1, "llama-transformer": 1}))
    assert (closed.error or "").endswith(PUT_BACK)


@pytest.mark.xfail(strict=True, reason=(
    "left (report r-safe4): a Deployment a person scales to 0 by hand after the first "
    "pass put it back holds the stop's value; compare-and-set cannot tell the two, and "
    "the changed fields are kept whole for the row's words (issue 14)"))
def test_a_deployment_scaled_to_0_by_hand_while_the_class_is_retried_stays_at_0(
        managed: Led) -> None:
    """A kept stop's first pass scales the predictor back and meets a 409 storm on the
    class; a person then scales the predictor to 0 by hand (stopping it their way).
    The next pass must not scale it up again."""
    led = managed
    led.tick(BEGIN)
    row = _stop_left_midway(led, led.world.reconciler.parts.executor,
                            at=BEGIN + timedelta(minutes=1))
    led.world.sandbox.faults.add("patch", "inferenceservices", name="llama", status=409,
                                 times=3)
    led.tick(BEGIN + timedelta(minutes=2))
    KubeCluster(led.world.rest).scale_deployment("team-a", "llama-predictor", 0)
    led.world.sandbox.wait_idle(terminations=True)
    led.tick(BEGIN + timedelta(minutes=3))
    assert (_states(led, row), _looks(led)) == (
        RecordState.ABANDONED, (None, {"llama-predictor": 0, "llama-transformer": 1}))
