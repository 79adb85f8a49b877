"""Issue 14 case 2: SIGTERM while the leader's chunk of writes is in flight.

Tue 2030-04-09, Berlin, from 18:59:30 at 30x. Two replicas share the sandbox, the ledger
and the Lease; the sandbox holds each 19:00 stop PATCH for 3 s, and the leader gets
SIGTERM once its planned rows are written, i.e. with its PATCHes in flight. It must
finish and record its chunk before it releases the Lease; the standby then takes over
and must not settle those rows. Afterwards every stop in the cluster has exactly one
applied row in the ledger, and no row is ``abandoned`` or left ``planned``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubesandbox import types
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.model import Action, ServiceRef
from tests.e2e.harness import Child, berlin, held, wait_for
from tests.e2e.policies import office_hours
from tests.e2e.stage import Stage, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(150)]

START = berlin(2030, 4, 9, 18, 59, 30)
DEVS = [ServiceRef("team-a", f"dev-{i}") for i in range(3)]
ELECTION = {"enabled": True, "namespace": "reclaimer", "name": "reclaimer-leader",
            "leaseDuration": "8s", "renewDeadline": "5s", "retryPeriod": "1s"}


@dataclass(frozen=True)
class Run:
    rows: list[TransitionRecord]
    annotations: dict[ServiceRef, str | None]
    leader: str
    exit_code: int
    holder_after: str


def holder(stage_: Stage) -> str:
    found, _ = stage_.world.store.list(types.LEASES, "reclaimer")
    return next((str(lease["spec"].get("holderIdentity") or "") for lease in found
                 if lease["metadata"]["name"] == "reclaimer-leader"), "")


def _leader(stage_: Stage, replicas: list[Child]) -> Child | None:
    for child in replicas:
        child.check_alive()
    name = holder(stage_)
    return next((c for c in replicas if c.identity == name), None)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=30.0)
    with stage(tmp_path_factory.mktemp("sigterm"), template_db, timeline=timeline,
               services={ref: {"tier": "dev"} for ref in DEVS},
               policies={"office-hours.yaml": office_hours(busy_at_stop="force")}) as st:
        st.world.faults.add("patch", "inferenceservices", delay=3.0, times=len(DEVS))
        replicas = [st.start(identity=name, leaderElection=ELECTION)
                    for name in ("replica-a", "replica-b")]
        leader = wait_for(lambda: _leader(st, replicas), timeout=30, what="a leader")
        wait_for(lambda: len([r for r in st.history() if r.state is RecordState.PLANNED])
                 == len(DEVS), timeout=40, what="the leader's planned rows", poll=0.01)
        code = leader.stop()
        standby = next(c for c in replicas if c is not leader)
        wait_for(lambda: holder(st) == standby.identity, timeout=30, what="the takeover")
        wait_for(lambda: not [r for r in st.history()
                              if r.state in (RecordState.PLANNED, RecordState.APPLIED)],
                 timeout=30, what="every row settled")
        standby.check_alive()
        yield Run(rows=st.history(), annotations={r: st.stop_annotation(r) for r in DEVS},
                  leader=leader.identity, exit_code=code, holder_after=holder(st))


def test_case_2_sigterm_finishes_and_records_the_chunk_in_flight(run: Run) -> None:
    assert [(r.ref.name, r.action, r.state, r.actor) for r in run.rows] == [
        (ref.name, Action.STOP, RecordState.VERIFIED, run.leader) for ref in DEVS]


def test_case_2_the_ledgers_stops_match_the_cluster(run: Run) -> None:
    stopped = {ref for ref, value in run.annotations.items() if value == "true"}
    in_ledger = {r.ref for r in run.rows if r.action is Action.STOP
                 and r.state in (RecordState.APPLIED, RecordState.VERIFIED)}
    assert (stopped, in_ledger) == (set(DEVS), set(DEVS))


def test_case_2_the_leader_exits_cleanly_and_hands_over(run: Run) -> None:
    assert (run.exit_code, run.holder_after != run.leader) == (0, True)
