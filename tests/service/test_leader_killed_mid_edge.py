"""A leader dies between an edge's planned row and its PATCH; the next leader finishes it.

Two replicas share a sandbox (KServe 0.16), a SQLite ledger and a Lease. Replica A plans the
Friday 19:00 stop of ``llama`` and dies before or after its PATCH (a cluster adapter
that raises there; A never ticks again). B takes the Lease a handover later and ticks every 10
minutes: the edge must keep one STOP row, verified: never an abandoned row beside a
second STOP (recovery reuses an untouched row and its claim), nor A's PATCH recorded as
somebody else's change while A's row is still in flight. The row names who made the
change: A if its PATCH landed, else B (which reused A's row; A stays in its evidence).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.executor.executor import Executor
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.kube.rest import Rest
from reclaimer.ledger import open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.protocol import Ledger
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import ServiceRef
from reclaimer.service.loop import LoopParts, LoopSettings, Reconciler
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.term import TermKeeper
from reclaimer.signals.scripted import ScriptedSignals
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle
from tests.service.loop_world import FRIDAY_STOP, OFFICE_HOURS, quiet, scenario
from tests.service.test_gpu_hours_terms import HANDOVER, LLAMA, Replica, SharedTime

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


class DiesBeforePatch(KubeCluster):
    """The process ends between its planned rows and its first PATCH (a SIGKILL)."""

    def patch_isvc(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("killed at the PATCH")


class DiesAfterPatch(KubeCluster):
    """The process ends after its PATCH, before the row is marked applied."""

    def patch_isvc(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        super().patch_isvc(ref, body)
        raise RuntimeError("killed at the PATCH")


def _replica(cluster: KubeCluster, sandbox: SandboxHandle, ledger: Ledger,
             policies: Path, time: SharedTime, *, identity: str) -> Replica:
    rest = cluster.rest
    inventory = Inventory(rest)
    inventory.resync()
    executor = Executor(cluster, ledger, actor=identity, cached=inventory)
    parts = LoopParts(inventory=inventory, signals=ScriptedSignals({LLAMA: quiet()}),
                      ledger=ledger, executor=executor)
    reconciler = Reconciler(parts, settings=LoopSettings(policy_paths=(policies,),
                                                         actor=identity),
                            metrics=ServiceMetrics())
    elector = LeaderElector(rest, LeaseSettings(namespace="team-a", name="reclaimer-leader",
                                                identity=identity),
                            now=time.wall.now, monotonic=time.monotonic)
    return Replica(elector, reconciler,
                   TermKeeper(reconciler, elector, in_flight=timedelta(seconds=15)),
                   ServiceMetrics(), inventory, sandbox)


@pytest.fixture(params=[pytest.param((DiesBeforePatch, ("replica-b", "replica-a")),
                                     id="killed-before-its-patch"),
                        pytest.param((DiesAfterPatch, ("replica-a", None)),
                                     id="killed-after-its-patch")])
def ledger_after_handover(make_sandbox: MakeSandbox, tmp_path: Path,
                          request: pytest.FixtureRequest
                          ) -> Iterator[tuple[Ledger, tuple[str, str | None]]]:
    sandbox = make_sandbox(scenario(("team-a", "llama", {"tier": "dev"})))
    (tmp_path / "office-hours.yaml").write_text(OFFICE_HOURS % {"busy": "force"})
    api = api_client_for_host(sandbox.url)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    rest, ledger, time = Rest(api), open_ledger(url), SharedTime()
    dying, survivor = request.param[0](rest), KubeCluster(rest)
    a = _replica(dying, sandbox, ledger, tmp_path, time, identity="replica-a")
    b = _replica(survivor, sandbox, ledger, tmp_path, time, identity="replica-b")
    try:
        with pytest.raises(RuntimeError, match="killed at the PATCH"):
            a.tick_if_leader(time.to(FRIDAY_STOP))
        assert not b.tick_if_leader(time.to(FRIDAY_STOP + timedelta(seconds=1)))
        start = FRIDAY_STOP + timedelta(seconds=1) + HANDOVER
        for step in range(3):
            assert b.tick_if_leader(time.to(start + timedelta(minutes=10 * step),
                                            monotonic=HANDOVER if step == 0 else
                                            timedelta(seconds=2)))
        yield ledger, request.param[1]
    finally:
        a.reconciler.close()
        b.reconciler.close()
        ledger.close()
        api.close()


def test_the_next_leader_stops_the_edge_on_the_dead_leaders_row(
        ledger_after_handover: tuple[Ledger, tuple[str, str | None]]) -> None:
    ledger, (actor, planned_by) = ledger_after_handover
    rows = [(r.transition.action.value, r.state.value, r.actor,
             r.transition.evidence.get("plannedBy"))
            for r in ledger.history() if not r.transition.blocked]
    assert rows == [("stop", "verified", actor, planned_by)]
