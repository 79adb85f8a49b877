"""Migrations match the models, round-trip, and a database behind head is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, inspect, text
from sqlalchemy.orm import Session

from reclaimer.errors import LedgerError, LedgerUnavailable, SchemaBehind
from reclaimer.executor.executor import always_allowed
from reclaimer.ledger import SqlLedger, open_ledger, rows
from reclaimer.ledger.engine import make_engine, parse_url
from reclaimer.ledger.records import RecordState
from reclaimer.ledger.schema_check import (
    HEAD,
    alembic_config,
    downgrade,
    head_revision,
    upgrade,
)
from reclaimer.model import (
    Action,
    DeploymentMode,
    Reason,
    Service,
    ServiceKind,
    ServiceRef,
    ServiceState,
    Transition,
    Trigger,
)
from reclaimer.service.recording import external_changes, record_external
from tests.ledger.builders import LLAMA, at, transition

TABLES = {"transitions", "edge_claims", "service_facts", "holds", "restore_info", "notices",
          "external_claims", "alembic_version"}


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite-file"),
    pytest.param("postgres", id="postgres-15", marks=pytest.mark.integration),
])
def any_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    yield sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def _tables(url: str) -> set[str]:
    engine = make_engine(parse_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_models_match_the_migrations(any_url: str) -> None:
    upgrade(parse_url(any_url))
    command.check(alembic_config(parse_url(any_url)))


def test_upgrade_downgrade_upgrade_round_trips(any_url: str) -> None:
    url = parse_url(any_url)
    upgrade(url)
    downgrade(url, "base")
    assert _tables(any_url) <= {"alembic_version"}
    upgrade(url)
    assert _tables(any_url) == TABLES
    command.check(alembic_config(url))


def test_a_database_without_the_schema_is_refused_with_the_fix(any_url: str) -> None:
    engine = make_engine(parse_url(any_url))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE unrelated (x INTEGER)"))
    engine.dispose()
    with pytest.raises(SchemaBehind, match=r"schema is at nothing, this release needs "
                       f"{head_revision()}: run `reclaimer db upgrade --db "):
        open_ledger(any_url)
    assert _tables(any_url) == {"unrelated"}


def test_the_start_up_check_asks_for_alembics_head() -> None:
    """`require_head` reads no migration script (schema_check's docstring): a new
    migration moves `HEAD` with it."""
    assert head_revision() == HEAD


def test_a_database_behind_head_is_refused_at_its_revision(any_url: str) -> None:
    upgrade(parse_url(any_url), "0002")
    with pytest.raises(SchemaBehind, match=f"schema is at 0002, this release needs {HEAD}: "):
        open_ledger(any_url)


def test_a_database_with_two_schema_versions_is_refused(any_url: str) -> None:
    upgrade(parse_url(any_url))
    engine = make_engine(parse_url(any_url))
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0002')"))
    engine.dispose()
    with pytest.raises(LedgerError, match=f"2 schema versions \\(0002, {HEAD}\\)"):
        open_ledger(any_url)


def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.db"
    with pytest.raises(SchemaBehind, match="does not exist yet: run `reclaimer db upgrade"):
        open_ledger(f"sqlite:///{path}")
    assert not path.exists()


@pytest.mark.parametrize(("url", "message"), [
    pytest.param("not a url", "malformed database URL 'not a url'", id="garbage"),
    pytest.param("mysql://root@db/reclaimer", "unsupported database URL", id="mysql"),
    pytest.param("sqlite://", "use sqlite:///PATH", id="sqlite-without-path"),
    pytest.param("postgresql+psycopg2://u@h/db", "unsupported database URL", id="psycopg2"),
    pytest.param("postgresql+psycopg://u:s3cret@/db", "USER@HOST", id="no-host"),
    pytest.param("sqlite:////no/such/dir/ledger.db", "directory /no/such/dir does not exist",
                 id="sqlite-missing-directory"),
])
def test_a_bad_url_is_unavailable_with_a_clear_line(url: str, message: str) -> None:
    with pytest.raises(LedgerUnavailable, match=message) as caught:
        open_ledger(url)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unreachable_postgres_names_the_url_without_password(unused_port: int) -> None:
    url = f"postgresql+psycopg://reclaimer:s3cret@127.0.0.1:{unused_port}/ledger"
    with pytest.raises(LedgerUnavailable) as caught:
        open_ledger(url)
    message = str(caught.value)
    assert f"reclaimer:***@127.0.0.1:{unused_port}/ledger" in message
    assert "s3cret" not in message
    assert "\n" not in message


@pytest.mark.parametrize(("pragma", "value"), [
    pytest.param("journal_mode", "wal", id="wal"),
    pytest.param("foreign_keys", 1, id="foreign-keys"),
    pytest.param("busy_timeout", 10_000, id="busy-timeout"),
])
def test_sqlite_connections_get_the_pragmas(sqlite_url: str, pragma: str,
                                            value: object) -> None:
    engine = make_engine(parse_url(sqlite_url))
    with engine.connect() as connection:
        assert connection.execute(text(f"PRAGMA {pragma}")).scalar() == value
    engine.dispose()


@pytest.mark.integration
def test_postgres_sessions_plan_for_cached_pages(postgres_url: str) -> None:
    engine = make_engine(parse_url(postgres_url))
    with engine.connect() as connection:
        assert connection.execute(text("SHOW random_page_cost")).scalar() == "1.1"
    engine.dispose()


def test_rows_from_before_kinds_are_inference_services(any_url: str) -> None:
    """0003 adds the kind: a hold written at 0001 is an InferenceService's hold after."""
    url = parse_url(any_url)
    command.upgrade(alembic_config(url), "0001")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO holds (namespace, name, until, reason, who, created_at) VALUES "
            "('team-a', 'llama', '2030-01-01 00:00:00', 'eval', 'alice', "
            "'2026-01-01 00:00:00')"))
    engine.dispose()
    upgrade(url)
    ledger = open_ledger(any_url)
    try:
        held = ledger.view(datetime(2026, 6, 1, tzinfo=UTC)).holds
    finally:
        ledger.close()
    assert list(held) == [ServiceRef("team-a", "llama", ServiceKind.INFERENCE_SERVICE)]


def _observed_as_0003_wrote_it(url: URL, change: Transition) -> None:
    """An ``observed`` row as the release before 0004 booked it: no external claim."""
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            row = rows.transition_row(change, state=RecordState.OBSERVED, strategy=None,
                                      actor="kubectl", at=change.at)
            row.applied_at = change.at
            session.add(row)
            session.flush()
            SqlLedger._remember(session, row)
    finally:
        engine.dispose()


def _count(url: URL, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_observed_rows_of_the_release_before_0004_survive_it_both_ways(any_url: str) -> None:
    """A person's stop booked by the release before: after 0004 their start is booked
    once by two replicas that read one view, the stop's GPU-hours counted once; down
    to 0003 every row stays and only the claims go."""
    url = parse_url(any_url)
    upgrade(url, "0003")
    _observed_as_0003_wrote_it(url, transition(
        trigger=Trigger.EXTERNAL, reason=Reason.EXTERNAL_CHANGE, policy=None, edge=False,
        hours=1))
    upgrade(url)
    started = Service(ref=LLAMA, uid="uid-llama", mode=DeploymentMode.STANDARD,
                      state=ServiceState.RUNNING, created_at=at(-24), stop_changed_by="kubectl")
    replicas = [open_ledger(any_url), open_ledger(any_url)]
    try:
        views = [ledger.view(at(2)) for ledger in replicas]
        for ledger, view in zip(replicas, views, strict=True):
            record_external(ledger, external_changes([started], view, now=at(2)), view=view,
                    may_write=always_allowed)
        booked = [r.transition.action for r in reversed(replicas[0].history())]
        hours = replicas[0].report(since=at(0), now=at(3)).total_gpu_hours
    finally:
        for ledger in replicas:
            ledger.close()
    downgrade(url, "0003")
    kept = (_count(url, "transitions"), "external_claims" in _tables(any_url))
    upgrade(url)
    assert (booked, hours, kept) == ([Action.STOP, Action.START], 1.0, (2, False))
