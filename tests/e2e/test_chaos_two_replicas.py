"""Issue 14's chaos test: two replicas, SIGTERM and SIGKILL at random points, 200 ISVCs.

One sandbox (KServe 0.16) with 200 dev models, one PostgreSQL 15 ledger, two `reclaimer
run` replicas with leader election, and a policy whose edges alternate every 15
simulated minutes (stop, start, stop, ...) on a timeline at 40x, so each of the 11 edges
gets 22.5 real seconds (2 shared cores start a replica in several seconds). At every
edge, at random points (seeded), the Lease holder is SIGTERMed (a rolling update: its
replacement was started before, as with maxSurge 1) and another replica, the new holder
if there is one, SIGKILLed (a dead node: replaced afterwards). Afterwards: every ISVC is
in the state of the last edge, every edge was applied exactly once per ISVC, no row is
``planned``, and the ledger's stops in force match the cluster's stop annotations one
for one.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kubesandbox import types
from reclaimer.ledger import open_ledger
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.model import ServiceRef
from tests.e2e.harness import Child, held, upgrade, wait_for
from tests.e2e.stage import Stage, stage
from tests.fixtures.postgres import PostgresServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(420)]

SEED = 14
SERVICES = 200
EDGES = 11
SPEED = 40.0
EVERY = timedelta(minutes=15)
START = datetime(2030, 4, 9, 19, 14, 30, tzinfo=UTC)
FIRST_EDGE = datetime(2030, 4, 9, 19, 15, tzinfo=UTC)
REFS = [ServiceRef("team-a", f"dev-{i:03d}") for i in range(SERVICES)]
POLICY = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: chaos}
spec:
  namespaceSelector: {matchNames: [team-a]}
  selector: {matchLabels: {tier: dev}}
  timeZone: UTC
  schedule: [{start: "0,30 * * * *", stop: "15,45 * * * *"}]
  busyAtStop: force
"""
SETTINGS = {
    "leaderElection": {"enabled": True, "namespace": "reclaimer", "name": "reclaimer-leader",
                       "leaseDuration": "5s", "renewDeadline": "3s", "retryPeriod": "1s"},
    "executor": {"strategy": "auto", "verifyTimeout": "30d", "maxConcurrentStarts": 1000},
    "safety": {"maxStopsPerTick": 1000},
}
ACTED = (RecordState.APPLIED, RecordState.VERIFIED)


@dataclass(frozen=True)
class Run:
    rows: list[TransitionRecord]
    stopped_in_cluster: set[ServiceRef]
    stops_in_ledger: set[ServiceRef]
    chaos: list[str]


class Fleet:
    """The replicas alive now; each one stopped or killed is replaced by a new one."""

    def __init__(self, stage_: Stage) -> None:
        self.stage = stage_
        self.born = 0
        self.alive: list[Child] = [self.spawn(), self.spawn()]

    def spawn(self) -> Child:
        self.born += 1
        return self.stage.start(identity=f"replica-{self.born}", **SETTINGS)

    def holder(self, *, besides: Child | None = None) -> Child:
        """The Lease holder if alive (and not ``besides``), else the oldest other."""
        found, _ = self.stage.world.store.list(types.LEASES, "reclaimer")
        name = next((str(lease["spec"].get("holderIdentity") or "") for lease in found), "")
        others = [c for c in self.alive if c is not besides]
        return next((c for c in others if c.identity == name), others[0])

    def surge(self) -> None:
        """A rolling update's new replica, up before the old one gets SIGTERM."""
        self.alive.append(self.spawn())

    def end(self, child: Child, *, kill: bool) -> str:
        """SIGTERM (no replacement: the surge is it) or SIGKILL (replaced now)."""
        self.alive.remove(child)
        if kill:
            child.kill()
            self.alive.append(self.spawn())
        else:
            terminate(child)
        return f"{'SIGKILL' if kill else 'SIGTERM'} {child.identity}"


def terminate(child: Child) -> None:
    """SIGTERM once the process is up (its probes answer): a SIGTERM during the imports
    ends it by the default action, before any handler exists, which is not the case
    under test."""
    wait_for(lambda: child.get("/healthz") is not None or child.proc.poll() is not None,
             timeout=30, what=f"{child.identity} up")
    assert child.stop() == 0, f"{child.identity} did not exit cleanly on SIGTERM"


def _chaos_at_edge(fleet: Fleet, rng: random.Random, edge_real: float) -> list[str]:
    """SIGTERM the Lease holder and SIGKILL another replica, at random points."""
    done = []
    events = sorted([(rng.uniform(0.0, 2.0), False), (rng.uniform(0.0, 4.0), True)])
    terminated: Child | None = None
    for offset, kill in events:
        time.sleep(max(edge_real + offset - time.monotonic(), 0.0))
        target = fleet.holder(besides=terminated)
        terminated = terminated or (None if kill else target)
        done.append(f"+{offset:.2f}s {fleet.end(target, kill=kill)}")
    return done


def _settled(stage_: Stage, *, stopped: bool) -> bool:
    ledger = open_ledger(stage_.database)
    try:
        pending = ledger.pending()
    finally:
        ledger.close()
    if any(r.state is RecordState.PLANNED for r in pending):
        return False
    want = "true" if stopped else None
    return all(stage_.stop_annotation(ref) == want for ref in REFS)


@pytest.fixture(scope="module")
def database(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    with postgres_server.admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_server.url(name)
    upgrade(url)
    yield url
    with postgres_server.admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path,
        database: str) -> Iterator[Run]:
    rng = random.Random(SEED)
    timeline = held(START, speed=SPEED, lead=12.0)
    with stage(tmp_path_factory.mktemp("chaos"), template_db, timeline=timeline,
               services={ref: {"tier": "dev"} for ref in REFS},
               policies={"chaos.yaml": POLICY}, database=database) as st:
        fleet = Fleet(st)
        chaos: list[str] = []
        for index in range(EDGES):
            edge = FIRST_EDGE + index * EVERY
            fleet.surge()
            timeline.wait_until(edge, timeout=600)
            chaos += [f"edge {index}: {e}" for e in _chaos_at_edge(fleet, rng,
                                                                   time.monotonic())]
        wait_for(lambda: _settled(st, stopped=EDGES % 2 == 1), timeout=60,
                 what="the last edge settled")
        for child in list(fleet.alive):
            terminate(child)
        ledger = open_ledger(database)
        try:
            in_force = {r.ref for r in ledger.stops_in_force()}
        finally:
            ledger.close()
        yield Run(rows=st.history(), chaos=chaos, stops_in_ledger=in_force,
                  stopped_in_cluster={r for r in REFS if st.stop_annotation(r) == "true"})


def test_chaos_every_isvc_ends_in_the_last_edges_state(run: Run) -> None:
    assert run.stopped_in_cluster == set(REFS), run.chaos


def test_chaos_every_edge_is_applied_exactly_once(run: Run) -> None:
    acted = Counter(r.edge_key for r in run.rows if r.edge_key and r.state in ACTED)
    assert (len(acted), set(acted.values())) == (SERVICES * EDGES, {1}), run.chaos


def test_chaos_no_row_is_left_planned(run: Run) -> None:
    assert [r.id for r in run.rows if r.state is RecordState.PLANNED] == [], run.chaos


def test_chaos_the_ledgers_stops_match_the_clusters_annotations(run: Run) -> None:
    assert run.stops_in_ledger == run.stopped_in_cluster, run.chaos
