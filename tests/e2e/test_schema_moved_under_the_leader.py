"""A newer release migrates the ledger under a running leader: it writes nothing more.

In a rolling upgrade the new pod's init container runs `reclaimer db upgrade` while the
old pod still leads; the old code knows nothing of what the migration added. Here the
version row is moved as that migration would leave it, seconds before the Wed 2030-04-10
19:00 Berlin stop edge, under a real `reclaimer run` on a SQLite ledger. The edge must
not be acted on (no annotation, no row), /readyz must say why, and once the schema is
this release's again (the upgrade rolled back) the edge is applied on the next tick.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.ledger.schema_check import HEAD
from reclaimer.model import Action, ServiceRef
from tests.e2e.harness import Child, berlin, edge_of, held, wait_for
from tests.e2e.policies import office_hours, quiet
from tests.e2e.stage import Stage, prometheus_data, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(150)]

EDGE = berlin(2030, 4, 10, 19, 0)
DEV = ServiceRef("team-a", "llama")
NEXT = f"{int(HEAD) + 1:04d}"
PAST_THE_EDGE = timedelta(seconds=6)


@dataclass(frozen=True)
class Run:
    annotation_past_the_edge: str | None
    rows_past_the_edge: list[str]
    ready_past_the_edge: tuple[int, dict[str, Any]]
    logged: list[str]
    rows_after: list[tuple[str, str | None]]
    ready_after: int


def _set_version(stage_: Stage, version: str) -> None:
    path = stage_.database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (version,))


def _rows(stage_: Stage) -> list[str]:
    """Read below the ledger: `open_ledger` refuses a schema that is not this release's."""
    path = stage_.database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        found = connection.execute("SELECT action, state FROM transitions WHERE namespace = ? "
                                   "AND name = ?", (DEV.namespace, DEV.name)).fetchall()
    return [f"{action} {state}" for action, state in found]


def _ready(child: Child) -> tuple[int, dict[str, Any]]:
    got = child.get("/readyz")
    assert got is not None, "the probe server did not answer"
    return got[0], json.loads(got[1])


def _stops(stage_: Stage) -> list[tuple[str, str | None]]:
    return [(r.state.value, None if edge_of(r) is None else str(edge_of(r)))
            for r in stage_.rows(DEV) if r.transition.action is Action.STOP]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(EDGE - timedelta(seconds=20), speed=1.0)
    data = prometheus_data({DEV: quiet(EDGE - timedelta(hours=2))},
                           start=EDGE - timedelta(hours=2), end=EDGE + timedelta(hours=1))
    with stage(tmp_path_factory.mktemp("schema-moved"), template_db, timeline=timeline,
               services={DEV: {"tier": "dev"}},
               policies={"office-hours.yaml": office_hours(busy_at_stop="force")},
               metrics=data) as stage_:
        child = stage_.start()
        assert child.wait_ticking(timeout=30) < EDGE, "the child ticked first after the edge"
        _set_version(stage_, NEXT)
        assert stage_.timeline.now() < EDGE, "the schema moved after the edge"
        stage_.timeline.wait_until(EDGE + PAST_THE_EDGE)
        past = (stage_.stop_annotation(DEV), _rows(stage_), _ready(child))
        logged = [str(line.get("message")) for line in child.log_lines()
                  if "no writes" in str(line.get("message"))]
        _set_version(stage_, HEAD)
        wait_for(lambda: stage_.stop_annotation(DEV), timeout=30, what="the stop, once "
                 "the schema is this release's again")
        wait_for(lambda: _ready(child)[0] == 200 or None, timeout=10, what="ready again")
        yield Run(annotation_past_the_edge=past[0], rows_past_the_edge=past[1],
                  ready_past_the_edge=past[2], logged=logged, rows_after=_stops(stage_),
                  ready_after=_ready(child)[0])


def test_the_edge_is_not_acted_on_while_the_schema_is_a_newer_releases(run: Run) -> None:
    assert (run.annotation_past_the_edge, run.rows_past_the_edge) == (None, [])


def test_readyz_says_why_the_leader_writes_nothing(run: Run) -> None:
    code, body = run.ready_past_the_edge
    assert (code, body["ready"]) == (503, False)
    assert f"the ledger's schema is at {NEXT}, newer than this release's {HEAD}" in (
        body["detail"])


def test_the_refusal_is_logged_once(run: Run) -> None:
    assert len(run.logged) == 1
    assert f"schema is at {NEXT}" in run.logged[0]


def test_the_edge_is_applied_once_the_schema_is_this_releases_again(run: Run) -> None:
    assert (run.rows_after, run.ready_after) == ([("applied", str(EDGE))], 200) or (
        run.rows_after, run.ready_after) == ([("verified", str(EDGE))], 200)
