"""Attacks on the schema fence (review r-schema6 of 49009a3): writes an old-release
leader still made after a newer release migrated the ledger, and a version read that
waited on other writers.

Sandbox over HTTP, the loop with the service's `WriteGuard` reading the real ledger's
schema (SQLite file, PostgreSQL 15); the version row is moved as a newer release's
`db upgrade` leaves it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from reclaimer.errors import LedgerError
from reclaimer.executor import isvc_state as st
from reclaimer.kube.rest import ISVC
from reclaimer.ledger import SqlLedger, open_ledger
from reclaimer.ledger.engine import make_engine, parse_url
from reclaimer.ledger.records import RecordState
from reclaimer.ledger.schema_check import HEAD, upgrade
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import WriteGuard
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    FRIDAY_STOP,
    MONDAY_START,
    OFFICE_HOURS,
    LoopWorld,
    build,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
LLAMA = ServiceRef("team-a", "llama")
NEXT = f"{int(HEAD) + 1:04d}"


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres-15")])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    found = (f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
             else request.getfixturevalue("postgres_url"))
    upgrade(parse_url(found))
    return str(found)


def set_version(url: str, version: str) -> None:
    """As a newer release's `db upgrade` (or a downgrade) leaves the version row."""
    engine = make_engine(parse_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"),
                               {"v": version})
    finally:
        engine.dispose()


@dataclass
class Guarded:
    """The loop as `reclaimer run` wires it: the guard asks the ledger's schema."""

    world: LoopWorld
    guard: WriteGuard
    policies: Path
    raised: list[LedgerError] = field(default_factory=list)

    def tick(self, at: datetime) -> None:
        self.guard.begin_tick()
        self.world.tick(at)

    def start_states(self) -> list[RecordState]:
        return [r.state for r in self.world.ledger.history(namespace="team-a", name="llama")
                if r.transition.action is Action.START]


@pytest.fixture
def guarded(make_sandbox: MakeSandbox, tmp_path: Path, url: str) -> Iterator[Guarded]:
    ledger = open_ledger(url)
    policies = tmp_path / "policies"
    policies.mkdir()
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), policies,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=ledger)
    guard = WriteGuard(AlwaysLeader(), stopping=threading.Event(), budget=math.inf,
                       metrics=ServiceMetrics(), schema=ledger.schema_refusal)
    world.reconciler.parts.executor.guard = guard
    yield Guarded(world, guard, policies)
    world.close()
    ledger.close()


def test_a_kept_start_row_is_not_closed_after_a_newer_release_migrated_the_ledger(
        guarded: Guarded, url: str) -> None:
    """A start whose PATCH got a 409 is kept for the edge's retry. The schema moves, and
    the next tick no longer decides that start (its policy was removed): on 49009a3
    `settle_retries` still wrote ``abandoned`` on the row, without asking the guard (it
    asked only before putting back a stop). Now the row stays kept for the new
    release's leader, and is closed once the schema is this release's again."""
    guarded.tick(FRIDAY_STOP + timedelta(seconds=30))
    guarded.world.sandbox.faults.add("patch", "inferenceservices", name="llama", status=409)
    guarded.tick(MONDAY_START + timedelta(seconds=30))
    assert guarded.start_states() == [RecordState.PLANNED]
    set_version(url, NEXT)
    (guarded.policies / "office.yaml").unlink()
    guarded.tick(MONDAY_START + timedelta(minutes=1))
    assert guarded.start_states() == [RecordState.PLANNED]
    set_version(url, HEAD)
    guarded.tick(MONDAY_START + timedelta(minutes=2))
    assert guarded.start_states() == [RecordState.ABANDONED]


def test_the_version_read_does_not_wait_for_another_writer_of_a_sqlite_ledger(
        tmp_path: Path) -> None:
    """SQLite: the read began ``BEGIN IMMEDIATE`` (the write lock), so while any other
    process wrote (a `reclaimer stop`, a migration) it waited out the 10 s busy timeout
    and then refused the tick with "database is locked" (/readyz 503). A read in WAL
    sees the last committed version without waiting."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    ledger = open_ledger(url)
    assert isinstance(ledger, SqlLedger)
    other = make_engine(parse_url(url))
    try:
        with other.begin() as writing:  # BEGIN IMMEDIATE: holds the write lock
            writing.execute(text("UPDATE transitions SET error = error"))
            began = time.monotonic()
            answer = ledger.schema_refusal()
            took = time.monotonic() - began
        assert (answer, took < 2.0) == (None, True), took
    finally:
        other.dispose()
        ledger.close()



@pytest.mark.parametrize("url", [pytest.param("postgres", id="postgres-15")], indirect=True)
def test_a_write_that_waited_on_the_migrations_lock_is_not_made_under_its_schema(
        guarded: Guarded, url: str) -> None:
    """PostgreSQL: `db upgrade` runs in one transaction; until it commits, the version
    row reads as this release's (nothing blocks that read), while the tables it alters
    are locked. A tick whose guard read the version then waited on that lock, and
    wrote its row and PATCHed the service under the new schema the moment the
    migration committed. Each write transaction now reads the version again before it
    commits: that one is rolled back, and nothing is changed on the cluster."""
    guarded.guard.begin_tick()
    assert guarded.guard() is None
    migration = make_engine(parse_url(url))
    try:
        with migration.begin() as connection:
            connection.execute(text("ALTER TABLE transitions ADD COLUMN added_by_0005 "
                                    "integer"))
            connection.execute(text(f"UPDATE alembic_version SET version_num = '{NEXT}'"))
            acting = threading.Thread(target=_stop_now, args=(guarded,))
            acting.start()
            acting.join(timeout=1.5)
            assert acting.is_alive(), "the write did not wait for the migration's lock"
        acting.join(timeout=30)
    finally:
        migration.dispose()
    rows = [r.transition.action for r in guarded.world.ledger.history(
        namespace="team-a", name="llama")]
    annotations = st.annotations_of(guarded.world.rest.get(ISVC, "team-a", "llama"))
    assert (rows, st.STOP in annotations) == ([], False)
    assert f"schema is at {NEXT}" in " ".join(map(str, guarded.raised))


def _stop_now(guarded: Guarded) -> None:
    """A stop through the service's executor, its guard already asked this tick; the
    ledger's refusal fails the tick as a failed database does."""
    obj = guarded.world.rest.get(ISVC, "team-a", "llama")
    try:
        guarded.world.reconciler.parts.executor.apply(Transition(
            ref=LLAMA, uid=st.uid_of(obj), action=Action.STOP, trigger=Trigger.MANUAL,
            reason=Reason.MANUAL, policy=None, at=FRIDAY_STOP, gpus=1, evidence={}),
            at=FRIDAY_STOP)
    except LedgerError as exc:
        guarded.raised.append(exc)


def test_a_schema_whose_change_breaks_this_releases_reads_is_said_at_once(
        guarded: Guarded, url: str) -> None:
    """A newer migration that renames what this release reads (here the holds table)
    fails the old leader's tick in its first read, before any write asked the guard:
    on 49009a3 the version was never read, so /readyz stayed 200 ("loop stalled" only
    after five ticks) and the log showed SQL errors, not the schema. The guard now
    reads the version when the tick begins."""
    guarded.tick(FRIDAY_STOP - timedelta(minutes=5))
    assert guarded.guard.schema_refusal is None
    _migrate(url, "ALTER TABLE holds RENAME TO holds_0005")
    with pytest.raises(LedgerError):
        guarded.tick(FRIDAY_STOP + timedelta(seconds=30))
    assert f"schema is at {NEXT}, newer than this release's" in (
        guarded.guard.schema_refusal or "")


def _migrate(url: str, statement: str) -> None:
    """What a newer release's migration changes, and its version row, in one commit."""
    engine = make_engine(parse_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
            connection.execute(text(f"UPDATE alembic_version SET version_num = '{NEXT}'"))
    finally:
        engine.dispose()
