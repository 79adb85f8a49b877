"""Rows another process leaves pending during a leader's term are settled in that term.

A single replica (no leader election) has one term for its whole life, and a leader may
hold its lease for weeks: recovery only at the start of a term left an owner's stop
through the API ``applied`` and unverified, and a `reclaimer start` cut off halfway
``planned``, until the process restarted. The loop now looks for such rows each tick
(one ledger read) and recovers them once they are out of flight, leaving a CLI's row
alone while the CLI still verifies it (``waitSeconds`` in its evidence). Sandbox over
HTTP, the loop with its `TermKeeper`, a real ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions, OutcomeKind
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import ISVC
from reclaimer.ledger import Ledger
from reclaimer.ledger.records import WAIT_KEY, RecordState
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import TermKeeper
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import FRIDAY_STOP, OFFICE_HOURS, LoopWorld, build, quiet, scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
LLAMA = ServiceRef("team-a", "llama")
BEGIN = FRIDAY_STOP - timedelta(hours=2)  # 17:00 in Berlin: office hours
IN_FLIGHT = timedelta(seconds=15)


@dataclass
class Led:
    """The loop as `reclaimer run` ticks it: the term keeper before each reconcile."""

    world: LoopWorld
    terms: TermKeeper

    def tick(self, at: datetime) -> None:
        self.terms.before_tick(at)
        self.world.tick(at)

    def list_isvc_requests(self, at: datetime) -> int:
        self.world.sandbox.request_log.clear()
        self.tick(at)
        return self.world.sandbox.request_log.count(verb="list", resource="inferenceservices")

    def manual(self, action: Action, *, actor: str, at: datetime,
               evidence: Mapping[str, Any]) -> int:
        """Another process's manual change, applied and not verified by it."""
        obj = self.world.rest.get(ISVC, "team-a", "llama")
        other = Executor(KubeCluster(self.world.rest), self.world.ledger, actor=actor)
        outcome = other.apply(Transition(
            ref=LLAMA, uid=st.uid_of(obj), action=action, trigger=Trigger.MANUAL,
            reason=Reason.MANUAL, policy=None, at=at, gpus=1, evidence=evidence), at=at)
        assert outcome.kind is OutcomeKind.APPLIED
        self.world.sandbox.wait_idle(terminations=True)
        return self.state_of_last()[0]

    def state_of_last(self) -> tuple[int, RecordState]:
        last = max(self.world.ledger.history(namespace="team-a", name="llama"),
                   key=lambda r: r.id)
        return last.id, last.state


def one_replica(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Led:
    """One service, one replica (`AlwaysLeader`): one term for the process's life."""
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    return Led(world, TermKeeper(world.reconciler, AlwaysLeader(), in_flight=IN_FLIGHT))


@pytest.fixture
def led(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Led]:
    found = one_replica(make_sandbox, tmp_path, store)
    yield found
    found.world.close()


def _states(led: Led, record_id: int) -> RecordState:
    (row,) = [r for r in led.world.ledger.history(namespace="team-a", name="llama")
              if r.id == record_id]
    return row.state


def test_an_owners_stop_made_mid_term_is_verified_in_that_term(led: Led) -> None:
    led.tick(BEGIN)
    row = led.manual(Action.STOP, actor="alice", at=BEGIN + timedelta(minutes=1),
                     evidence={"via": "api", "user": "alice"})
    for minutes in (2, 3, 4):
        led.tick(BEGIN + timedelta(minutes=minutes))
    assert _states(led, row) is RecordState.VERIFIED


def test_a_cli_row_is_left_to_the_cli_while_it_waits_then_settled(led: Led) -> None:
    led.tick(BEGIN)
    row = led.manual(Action.STOP, actor="bob@laptop", at=BEGIN + timedelta(minutes=1),
                     evidence={"via": "cli", WAIT_KEY: 300})
    led.tick(BEGIN + timedelta(minutes=2))
    led.tick(BEGIN + timedelta(minutes=5))
    during = _states(led, row)
    for minutes in (7, 8, 9):
        led.tick(BEGIN + timedelta(minutes=minutes))
    assert (during, _states(led, row)) == (RecordState.APPLIED, RecordState.VERIFIED)


@pytest.mark.parametrize("evidence", [
    pytest.param({"via": "cli", WAIT_KEY: "300"}, id="text"),
    pytest.param({"via": "cli", WAIT_KEY: -5}, id="negative"),
    pytest.param({"via": "cli", WAIT_KEY: True}, id="boolean"),
])
def test_a_wait_that_cannot_be_read_counts_as_none(led: Led, evidence: dict[str, Any]) -> None:
    led.tick(BEGIN)
    row = led.manual(Action.STOP, actor="bob@laptop", at=BEGIN + timedelta(minutes=1),
                     evidence=evidence)
    for minutes in (2, 3, 4):
        led.tick(BEGIN + timedelta(minutes=minutes))
    assert _states(led, row) is RecordState.VERIFIED


def test_recovery_lists_only_on_the_tick_that_settles_a_row(led: Led) -> None:
    """Each tick LISTs once (the inventory's resync). Only the tick that settles another
    process's row LISTs more: recovery's LIST, and the follow-up's that verifies the
    resumed stop. It is the second tick to see the row: the first sight starts its
    in-flight time by this process's clock."""
    led.tick(BEGIN)
    quiet_ticks = [led.list_isvc_requests(BEGIN + timedelta(minutes=m)) for m in (1, 2)]
    led.manual(Action.STOP, actor="alice", at=BEGIN + timedelta(minutes=3),
               evidence={"via": "api"})
    after = [led.list_isvc_requests(BEGIN + timedelta(minutes=m)) for m in (4, 5, 6)]
    assert (quiet_ticks, after) == ([1, 1], [1, 3, 1])


def _cli(led: Led, *, at: datetime, evidence: Mapping[str, Any]) -> tuple[Executor, int]:
    """A `reclaimer stop` that applied its row and now waits for it (``wait_verified``
    polls this executor's follow-up). Evidence without ``waitSeconds``: a CLI of a
    version before it was recorded, or one whose wait outlived it (a slow apply)."""
    obj = led.world.rest.get(ISVC, "team-a", "llama")
    cli = Executor(KubeCluster(led.world.rest), led.world.ledger, actor="bob@laptop",
                   options=ExecutorOptions(verify_timeout=timedelta(minutes=5)))
    outcome = cli.apply(Transition(
        ref=LLAMA, uid=st.uid_of(obj), action=Action.STOP, trigger=Trigger.MANUAL,
        reason=Reason.MANUAL, policy=None, at=at, gpus=1, evidence=evidence), at=at)
    assert outcome.kind is OutcomeKind.APPLIED and outcome.record_id is not None
    led.world.sandbox.wait_idle(terminations=True)
    return cli, outcome.record_id


def test_a_row_the_cli_verifies_after_the_service_resumed_it_does_not_stop_the_loop(
        led: Led) -> None:
    """The service resumes the CLI's row (out of its window) and, before its follow-up
    of that tick, the CLI's own poll verifies it: the service's follow-up must let the
    row go, not fail every tick for the rest of the term on a row it may not move."""
    led.tick(BEGIN)
    cli, row = _cli(led, at=BEGIN + timedelta(minutes=1), evidence={"via": "cli"})
    led.tick(BEGIN + timedelta(minutes=2))
    led.terms.before_tick(BEGIN + timedelta(minutes=3))  # resumed: awaited by the service
    said = cli.follow_up(at=BEGIN + timedelta(minutes=3))
    led.world.tick(BEGIN + timedelta(minutes=3))
    led.tick(BEGIN + timedelta(minutes=4))
    assert ([(o.record_id, o.kind) for o in said], _states(led, row),
            led.world.reconciler.parts.executor.memory.ours()) == (
        [(row, OutcomeKind.VERIFIED)], RecordState.VERIFIED, frozenset())


def test_a_cli_still_waiting_when_the_service_verified_its_row_is_told_so(led: Led) -> None:
    """The other way round: the service verified the row first; the CLI's next poll
    reports what the ledger says instead of failing on a LedgerError."""
    led.tick(BEGIN)
    cli, row = _cli(led, at=BEGIN + timedelta(minutes=1), evidence={"via": "cli"})
    for minutes in (2, 3):
        led.tick(BEGIN + timedelta(minutes=minutes))
    before = _states(led, row)
    said = cli.follow_up(at=BEGIN + timedelta(minutes=3, seconds=30))
    assert (before, [(o.record_id, o.kind) for o in said], cli.memory.ours()) == (
        RecordState.VERIFIED, [(row, OutcomeKind.VERIFIED)], frozenset())


MISTRAL = ServiceRef("team-a", "mistral")


@pytest.fixture
def pair(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Led]:
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}),
                                        ("team-a", "mistral", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet(), MISTRAL: quiet()}, ledger=store)
    yield Led(world, TermKeeper(world.reconciler, AlwaysLeader(), in_flight=IN_FLIGHT))
    world.close()


def test_a_failed_recovery_of_another_process_row_does_not_cost_the_fleet_its_tick(
        pair: Led) -> None:
    """Mid-term recovery is for rows of other processes; the tick ran without it before.
    Its LIST failing once (a 500) must not fail the tick: mistral is stopped at its
    edge, and the owner's row is settled by a later tick."""
    pair.tick(FRIDAY_STOP - timedelta(minutes=10))
    row = pair.manual(Action.STOP, actor="alice", at=FRIDAY_STOP - timedelta(minutes=5),
                      evidence={"via": "api"})
    pair.tick(FRIDAY_STOP - timedelta(minutes=4))  # first sight: in flight
    pair.world.sandbox.faults.add("list", "inferenceservices", status=500)
    pair.tick(FRIDAY_STOP)
    stopped = {(r.transition.action, r.state)
               for r in pair.world.ledger.history(namespace="team-a", name="mistral")}
    pair.tick(FRIDAY_STOP + timedelta(minutes=1))
    pair.tick(FRIDAY_STOP + timedelta(minutes=2))
    assert ((Action.STOP, RecordState.VERIFIED) in stopped, _states(pair, row)) == (
        True, RecordState.VERIFIED)


def test_a_service_not_read_once_is_read_again_by_a_later_tick(led: Led) -> None:
    """Only a service that cannot be read for good (forbidden) is left for the term: a
    GET answering 500 once must not leave the owner's row pending for the term (with
    one replica, for the life of the process)."""
    led.tick(BEGIN)
    row = led.manual(Action.STOP, actor="alice", at=BEGIN + timedelta(minutes=1),
                     evidence={"via": "api"})
    led.world.rest.request("DELETE", ISVC.path("team-a", "llama"))
    led.world.sandbox.wait_idle(terminations=True)
    led.tick(BEGIN + timedelta(minutes=2))
    led.world.sandbox.faults.add("get", "inferenceservices", "team-a", "llama", status=500)
    led.tick(BEGIN + timedelta(minutes=3))
    for minutes in (4, 5):
        led.tick(BEGIN + timedelta(minutes=minutes))
    assert _states(led, row) is RecordState.ABANDONED


def test_an_owners_stop_still_being_written_is_not_abandoned_under_its_patch(
        led: Led) -> None:
    """An owner's stop through the API whose PATCH is slow (an API server answering
    late, inline retries): the row is ``planned`` past ``in_flight`` and the loop's
    next ticks find it. No lease bounds that writer: had recovery abandoned the row
    ("the previous process ended"), the stop would land with no effective row (its
    GPU-hours never counted) and the owner would be told it failed."""
    led.tick(BEGIN)
    obj = led.world.rest.get(ISVC, "team-a", "llama")
    owner = Executor(KubeCluster(led.world.rest), led.world.ledger, actor="alice")
    at = BEGIN + timedelta(minutes=1)
    led.world.sandbox.faults.add("patch", "inferenceservices", "team-a", "llama", delay=6)
    done: list[OutcomeKind] = []
    writer = threading.Thread(target=lambda: done.append(owner.apply(Transition(
        ref=LLAMA, uid=st.uid_of(obj), action=Action.STOP, trigger=Trigger.MANUAL,
        reason=Reason.MANUAL, policy=None, at=at, gpus=1,
        evidence={"via": "api", "user": "alice"}), at=at).kind))
    writer.start()
    while not led.world.ledger.pending():
        time.sleep(0.05)
    for minutes in (2, 3):
        led.tick(BEGIN + timedelta(minutes=minutes))
    during = writer.is_alive()
    writer.join()
    led.world.sandbox.wait_idle(terminations=True)
    (row,) = led.world.ledger.history(namespace="team-a", name="llama", trigger=Trigger.MANUAL)
    for minutes in (4, 5):
        led.tick(BEGIN + timedelta(minutes=minutes))
    assert (during, done, _states(led, row.id)) == (
        True, [OutcomeKind.APPLIED], RecordState.VERIFIED)


@pytest.mark.parametrize("wait", [pytest.param(10 ** 400, id="beyond-a-float"),
                                  pytest.param(10 ** 12, id="huge")])
def test_a_huge_wait_is_a_day_and_never_stops_the_loop(led: Led, wait: int) -> None:
    """Evidence is whatever a writer stored (another version, a hand-edited row): a
    wait too large for a float must count as the cap, not raise on every tick."""
    led.tick(BEGIN)
    row = led.manual(Action.STOP, actor="bob@laptop", at=BEGIN + timedelta(minutes=1),
                     evidence={"via": "cli", WAIT_KEY: wait})
    for minutes in (2, 3):
        led.tick(BEGIN + timedelta(minutes=minutes))
    during = _states(led, row)
    for minutes in (2, 3):
        led.tick(BEGIN + timedelta(days=1, minutes=minutes))
    assert (during, _states(led, row)) == (RecordState.APPLIED, RecordState.VERIFIED)
