"""Two replicas with leader election: exactly one acts.

Tue 2030-04-09, Berlin, from 18:59:30 at 30x. Two children share the sandbox, the ledger
and the Lease ``reclaimer/reclaimer-leader``; the 19:00 stop must be applied once, by
the Lease holder, and the other replica must report itself a follower.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kubesandbox import types
from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, ServiceRef
from tests.e2e.harness import Child, berlin, edge_of, held, wait_for
from tests.e2e.policies import office_hours
from tests.e2e.stage import Stage, stage

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(120)]

START = berlin(2030, 4, 9, 18, 59, 30)
STOP_EDGE = berlin(2030, 4, 9, 19, 0)
DEV = ServiceRef("team-a", "dev")
ELECTION = {"enabled": True, "namespace": "reclaimer", "name": "reclaimer-leader"}


@dataclass(frozen=True)
class Run:
    rows: list[TransitionRecord]
    roles: dict[str, str]
    holder: str
    exits: dict[str, tuple[int, str]]


def role(child: Child) -> str | None:
    got = child.get("/readyz")
    return None if got is None else str(json.loads(got[1]).get("role"))


def _roles(children: list[Child]) -> dict[str, str] | None:
    for child in children:
        child.check_alive()
    roles = {c.identity: role(c) for c in children}
    return {k: v for k, v in roles.items() if v} if sorted(map(str, roles.values())) == [
        "follower", "leader"] else None


def _lease(stage_: Stage) -> dict[str, Any]:
    return stage_.world.store.get(types.LEASES, "reclaimer", "reclaimer-leader")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=30.0)
    with stage(tmp_path_factory.mktemp("two-replicas"), template_db, timeline=timeline,
               services={DEV: {"tier": "dev"}},
               policies={"office-hours.yaml": office_hours(busy_at_stop="force")}) as st:
        replicas = [st.start(identity=name, leaderElection=ELECTION)
                    for name in ("replica-a", "replica-b")]
        roles = wait_for(lambda: _roles(replicas), timeout=30, what="a leader and a follower")
        assert timeline.now() < STOP_EDGE, "the replicas elected a leader only after the edge"
        wait_for(lambda: st.stop_annotation(DEV) == "true", timeout=30, what="the stop")
        timeline.wait_until(timeline.now() + timedelta(minutes=2), timeout=30)
        holder = str(_lease(st)["spec"]["holderIdentity"])
        exits = {c.identity: (c.stop(), c.log_text()[-2000:]) for c in replicas}
        yield Run(rows=st.rows(DEV), roles=roles, holder=holder, exits=exits)


def test_the_edge_is_applied_once(run: Run) -> None:
    keyed = [r for r in run.rows if edge_of(r) == STOP_EDGE]
    assert [(r.action, r.blocked) for r in keyed] == [(Action.STOP, None)]


def test_only_the_lease_holder_acts(run: Run) -> None:
    assert {r.actor for r in run.rows} == {run.holder}


def test_one_replica_reports_leader_and_the_other_follower(run: Run) -> None:
    assert {v: k for k, v in run.roles.items()}["leader"] == run.holder


def test_both_replicas_exit_cleanly_on_sigterm(run: Run) -> None:
    """The leader releases its Lease and the follower may take over while both stop."""
    for identity, (code, log) in run.exits.items():
        assert code == 0, f"{identity} exited {code} (-9: killed after 20 s):\n{log}"
