"""A ledger migrated past this release (a rolling upgrade) is one it must not write.

`schema_refusal` is what the service's write guard asks once per tick; `open_ledger`
(the CLI, the service's start) refuses the same database with a line naming what to
run. Real SQLite files and PostgreSQL 15; the version row is moved as a newer
release's `db upgrade` would leave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from reclaimer.cli import main
from reclaimer.errors import SchemaAhead
from reclaimer.ledger import MemoryLedger, open_ledger
from reclaimer.ledger.engine import make_engine, parse_url
from reclaimer.ledger.schema_check import HEAD, is_ahead, upgrade

pytestmark = pytest.mark.timeout(60)
VERSIONS = Path(__file__).resolve().parents[2] / "reclaimer/ledger/migrations/versions"
NEXT = f"{int(HEAD) + 1:04d}"


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite-file"),
    pytest.param("postgres", id="postgres-15", marks=pytest.mark.integration),
])
def url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    found = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    upgrade(parse_url(found))
    yield found


def _run(url: str, statement: str) -> None:
    engine = make_engine(parse_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def test_a_ledger_at_this_releases_schema_may_be_written(url: str) -> None:
    ledger = open_ledger(url)
    try:
        assert ledger.schema_refusal() is None
    finally:
        ledger.close()


@pytest.mark.parametrize(("statement", "said"), [
    pytest.param(f"UPDATE alembic_version SET version_num = '{NEXT}'",
                 f"schema is at {NEXT}, newer than this release's {HEAD}: a newer "
                 "reclaimer migrated it", id="a-newer-release-migrated-it"),
    pytest.param("UPDATE alembic_version SET version_num = '0002'",
                 f"schema is at 0002, not this release's {HEAD}", id="downgraded"),
    pytest.param("DELETE FROM alembic_version",
                 f"schema is at nothing, not this release's {HEAD}", id="no-version-row"),
    pytest.param("DROP TABLE alembic_version", "schema version cannot be read",
                 id="no-version-table"),
])
def test_a_ledger_moved_under_an_open_process_refuses_its_writes(
        url: str, statement: str, said: str) -> None:
    ledger = open_ledger(url)
    try:
        _run(url, statement)
        assert said in (ledger.schema_refusal() or "")
    finally:
        ledger.close()


def test_the_refusal_ends_when_the_schema_is_this_releases_again(url: str) -> None:
    ledger = open_ledger(url)
    try:
        _run(url, f"UPDATE alembic_version SET version_num = '{NEXT}'")
        assert ledger.schema_refusal() is not None
        _run(url, f"UPDATE alembic_version SET version_num = '{HEAD}'")
        assert ledger.schema_refusal() is None
    finally:
        ledger.close()


def test_a_process_started_on_a_newer_schema_names_the_release_to_run(url: str) -> None:
    _run(url, f"UPDATE alembic_version SET version_num = '{NEXT}'")
    with pytest.raises(SchemaAhead, match=f"schema is at {NEXT}, newer than this release's "
                       f"{HEAD}: a newer reclaimer migrated it; run that release"):
        open_ledger(url)


def test_the_memory_ledger_has_no_schema_to_refuse() -> None:
    assert MemoryLedger().schema_refusal() is None


def test_revisions_are_numbered_in_order_so_a_later_one_reads_as_newer() -> None:
    """`is_ahead` compares numbers: every migration file is ``NNNN_name.py`` and they
    count up from 0001 to `HEAD` without a gap."""
    numbers = sorted(int(p.name[:4]) for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert (numbers, is_ahead(NEXT), is_ahead(HEAD)) == (
        list(range(1, int(HEAD) + 1)), True, False)


def test_db_upgrade_of_this_release_on_a_newer_schema_says_so_in_one_line(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A rollback of a rolling upgrade (r-schema6): the older release's pod runs its
    init container, `reclaimer db upgrade`, on the ledger the newer one migrated. On
    49009a3 alembic's CommandError ("Can't locate revision identified by '0005'")
    came out as a 60-line traceback; now one line naming the release to run, exit 1,
    and the version row as it was."""
    _run(url, f"UPDATE alembic_version SET version_num = '{NEXT}'")
    code = main(["db", "upgrade", "--db", url])
    err = capsys.readouterr().err
    assert (code, err.count("\n")) == (1, 1), err
    assert err.startswith("reclaimer: SchemaAhead: database ")
    assert f"schema is at {NEXT}, newer than this release's {HEAD}" in err
    with pytest.raises(SchemaAhead):
        open_ledger(url)
