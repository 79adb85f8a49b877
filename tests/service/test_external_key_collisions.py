"""Two distinct changes by hand must never share a key, or the second is dropped for good.

The key names the ledger fact a change changes. Named by its action and time, two facts
can look alike: a replica whose clock is behind the last fact dates every change it books
at that fact (never before it), so a person's stop, start, stop, start leaves facts
``stop@T``, ``start@T``, ``stop@T``; the second start's key is the first start's, taken,
and the ledger says "stopped" for good while the model runs. Sandbox over HTTP, two
replicas' loops on one real ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes import client

from reclaimer.kserve import STOP_ANNOTATION
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.rest import ISVC, Rest
from reclaimer.ledger import SqlLedger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Trigger
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import OFFICE_HOURS, LoopWorld, build, quiet, scenario
from tests.service.test_external_fencing import _booked
from tests.service.test_mid_term_recovery import BEGIN, LLAMA

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
SKEW = timedelta(minutes=10)


def _person_sets(world: LoopWorld, value: str | None) -> None:
    """``kubectl annotate isvc llama serving.kserve.io/stop=true`` (or ``stop-``)."""
    person = Rest(api_client_for_host(world.sandbox.url), field_manager="kubectl")
    person.merge_patch(ISVC, LLAMA.namespace, LLAMA.name,
                       {"metadata": {"annotations": {STOP_ANNOTATION: value}}})
    world.sandbox.wait_idle(terminations=True)


@pytest.fixture(params=[
    pytest.param(("sqlite", ("ahead", "behind")), id="two-replicas-sqlite"),
    pytest.param(("postgres", ("ahead", "behind")), id="two-replicas-postgres-15"),
    pytest.param(("sqlite", ("stepped-back",)), id="one-replica-clock-stepped-back-sqlite"),
])
def ahead_and_behind(request: pytest.FixtureRequest, make_sandbox: MakeSandbox,
                     tmp_path: Path) -> Iterator[tuple[LoopWorld, LoopWorld]]:
    """Two replicas' loops over one sandbox and one migrated database, or one replica
    twice: its clock stepped back by `SKEW` (NTP) after its first ticks."""
    store, names = request.param
    url = (f"sqlite:///{tmp_path / 'ledger.db'}" if store == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    upgrade(parse_url(url))
    sandbox = make_sandbox(scenario(("team-a", "llama", {"tier": "dev"})))
    worlds = []
    for name in names:
        (tmp_path / name).mkdir()
        worlds.append(build(sandbox, tmp_path / name, ledger=SqlLedger.open(url),
                            scripts={LLAMA: quiet()},
                            policies={"office": OFFICE_HOURS % {"busy": "force"}}))
    yield worlds[0], worlds[-1]
    for world in worlds:
        world.close()
        world.ledger.close()


def _flips_under_a_clock_behind(ahead: LoopWorld, behind: LoopWorld) -> None:
    """A person stops llama (booked by `ahead`, its clock `SKEW` ahead), then starts,
    stops and starts it again (booked by `behind`, which leads from then on)."""
    ahead.tick(BEGIN + SKEW)
    _person_sets(ahead, "true")
    ahead.tick(BEGIN + SKEW + timedelta(minutes=1))
    for minutes, value in ((2, None), (3, "true"), (4, None)):
        _person_sets(behind, value)
        behind.tick(BEGIN + timedelta(minutes=minutes))


def test_a_person_flipping_stop_under_a_clock_behind_the_ledger_is_booked_each_time(
        ahead_and_behind: tuple[LoopWorld, LoopWorld]) -> None:
    ahead, behind = ahead_and_behind
    _flips_under_a_clock_behind(ahead, behind)
    for minutes in (5, 30):  # later ticks, the second one past the other clock
        behind.tick(BEGIN + timedelta(minutes=minutes))
    booked = [action for action, _, _ in _booked(behind.ledger)]
    assert booked == [Action.STOP, Action.START, Action.STOP, Action.START]
    fact = behind.ledger.view(BEGIN + timedelta(minutes=30)).last_transitions[LLAMA]
    assert fact.action is Action.START


def _person_replaces_it_stopped(world: LoopWorld) -> None:
    """``kubectl delete isvc llama``, then ``kubectl apply`` it again with stop=true:
    a namesake, a new uid."""
    person = Rest(api_client_for_host(world.sandbox.url), field_manager="kubectl")
    old = person.get(ISVC, LLAMA.namespace, LLAMA.name)
    client.CustomObjectsApi(world.sandbox.api_client).delete_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", LLAMA.namespace, "inferenceservices", LLAMA.name)
    world.sandbox.wait_idle(terminations=True)
    metadata = {"name": LLAMA.name, "namespace": LLAMA.namespace,
                "labels": old["metadata"].get("labels", {}),
                "annotations": {STOP_ANNOTATION: "true"}}
    person.create(ISVC, LLAMA.namespace, {"apiVersion": old["apiVersion"], "kind": old["kind"],
                                          "metadata": metadata, "spec": old["spec"]})
    world.sandbox.wait_idle(terminations=True)


def test_a_namesake_stopped_under_a_clock_behind_the_old_objects_fact_becomes_the_fact(
        ahead_and_behind: tuple[LoopWorld, LoopWorld]) -> None:
    ahead, behind = ahead_and_behind
    ahead.tick(BEGIN + SKEW)
    _person_sets(ahead, "true")
    ahead.tick(BEGIN + SKEW + timedelta(minutes=1))  # then the lease moves to `behind`
    _person_replaces_it_stopped(behind)
    behind.tick(BEGIN + timedelta(minutes=2))
    _person_sets(behind, None)
    for minutes in (3, 4):
        behind.tick(BEGIN + timedelta(minutes=minutes))
    booked = [action for action, _, _ in _booked(behind.ledger)]
    assert booked == [Action.STOP, Action.STOP, Action.START]
    fact = behind.ledger.view(BEGIN + timedelta(minutes=30)).last_transitions[LLAMA]
    assert fact.action is Action.START


def test_a_change_dated_at_the_fact_keeps_the_instant_it_was_seen(
        ahead_and_behind: tuple[LoopWorld, LoopWorld]) -> None:
    """Dated at `ahead`'s fact, a row no longer passes that instant off as when `behind`
    saw the change: its evidence says when."""
    ahead, behind = ahead_and_behind
    _flips_under_a_clock_behind(ahead, behind)
    seen = [(r.transition.at, r.transition.evidence.get("observedAt"))
            for r in reversed(behind.ledger.history()) if r.transition.trigger is Trigger.EXTERNAL]
    fact = BEGIN + SKEW + timedelta(minutes=1)
    assert seen == [(fact, None)] + [
        (fact, (BEGIN + timedelta(minutes=m)).isoformat()) for m in (2, 3, 4)]


@pytest.fixture
def one(make_sandbox: MakeSandbox, tmp_path: Path) -> Iterator[LoopWorld]:
    """One replica over the sandbox and a migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  ledger=SqlLedger.open(url), scripts={LLAMA: quiet()},
                  policies={"office": OFFICE_HOURS % {"busy": "force"}})
    yield world
    world.close()
    world.ledger.close()


def test_a_stop_and_start_by_hand_inside_one_tick_books_nothing_and_takes_no_key(
        one: LoopWorld) -> None:
    """Unseen, the round trip is not booked; the person's next stop, seen, is booked:
    the unseen one took no key."""
    one.tick(BEGIN)
    _person_sets(one, "true")
    _person_sets(one, None)
    one.tick(BEGIN + timedelta(minutes=1))
    _person_sets(one, "true")
    for minutes in (2, 3):
        one.tick(BEGIN + timedelta(minutes=minutes))
    assert _booked(one.ledger) == [(Action.STOP, BEGIN + timedelta(minutes=2), "kubectl")]
