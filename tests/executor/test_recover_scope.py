"""watchNamespaces set: a pending row outside the watched namespaces is not "gone".

Recovery LISTs only the watched namespaces, so a row whose ISVC is not in that LIST may
still exist (a namespace dropped from watchNamespaces, a `reclaimer stop` run with
another scope). Only a GET answering NotFound proves it gone; otherwise the cluster's
state decides, or the row is left for a later pass — never falsified as abandoned.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.executor.executor import Executor
from reclaimer.executor.recover import recover_pending
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import Rest
from reclaimer.kube.scope import Scope
from reclaimer.ledger import open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.records import MANUAL_WRITES
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from tests.executor.conftest import NS, T0, isvc_entry
from tests.executor.test_recover import _crash

pytestmark = pytest.mark.integration
ELSEWHERE = "team-elsewhere"


@pytest.mark.timeout(60)
def test_pending_row_in_an_unwatched_namespace_is_not_abandoned_as_gone(
        make_sandbox: object, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(db))
    handle = make_sandbox({"kserve": "0.16", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS, ELSEWHERE], "inferenceServices": [isvc_entry()]})
    assert _crash(handle, db, "after-api") == -signal.SIGKILL
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        cluster = KubeCluster(Rest(api), scope=Scope((ELSEWHERE,)))
        found = recover_pending(Executor(cluster, ledger, actor="successor"), at=T0)
        states = [(r.state.value, r.error) for r in ledger.history()]
    finally:
        api.close()
        ledger.close()
    assert ([o.kind.value for o in found.outcomes], states) == (["applied"],
                                                                [("applied", None)])


@pytest.mark.timeout(60)
def test_recovery_after_sigterm_settles_nothing(make_sandbox: object, tmp_path: Path) -> None:
    """SIGTERM (or a lease past its margin) during a new term's recovery: the rows stay
    pending for the next leader, which may already be recovering them."""
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(db))
    handle = make_sandbox({"kserve": "0.16", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS], "inferenceServices": [isvc_entry()]})
    assert _crash(handle, db, "after-api") == -signal.SIGKILL
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        executor = Executor(KubeCluster(Rest(api)), ledger, actor="successor")
        executor.guard = lambda: "shutting down (SIGTERM)"
        found = recover_pending(executor, at=T0)
        states = [r.state.value for r in ledger.history()]
    finally:
        api.close()
        ledger.close()
    assert (found.outcomes, found.left, states) == ([], 1, ["planned"])


@pytest.mark.timeout(60)
def test_row_of_an_actor_whose_clock_runs_a_minute_behind_is_not_settled_while_fresh(
        make_sandbox: object, tmp_path: Path) -> None:
    """`reclaimer stop` on a laptop whose clock is 60 s behind records its planned row
    and is about to PATCH: a leader's recovery must not abandon it (its PATCH and
    `mark_applied` would follow an abandoned row); once first seen ``in_flight`` ago
    by the leader's own clock (plus the time a manual writer's API calls may take,
    `MANUAL_WRITES`), it is settled."""
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(db))
    handle = make_sandbox({"kserve": "0.16", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS], "inferenceServices": [isvc_entry()]})
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    lease = timedelta(seconds=15)
    try:
        cluster = KubeCluster(Rest(api))
        uid = cluster.get_isvc(ServiceRef(NS, "llama"))["metadata"]["uid"]
        ledger.record_planned(Transition(
            ref=ServiceRef(NS, "llama"), uid=uid, action=Action.STOP, trigger=Trigger.MANUAL,
            reason=Reason.MANUAL, policy=None, at=T0 - timedelta(seconds=60)),
            strategy="native", actor="laptop", at=T0 - timedelta(seconds=60))
        executor = Executor(cluster, ledger, actor="leader")
        fresh = recover_pending(executor, at=T0, in_flight=lease)
        later = recover_pending(executor, at=T0 + lease + MANUAL_WRITES + timedelta(seconds=1),
                                in_flight=lease)
        states = [r.state.value for r in ledger.history()]
    finally:
        api.close()
        ledger.close()
    assert ((fresh.outcomes, fresh.left), [o.kind.value for o in later.outcomes], states) == (
        ([], 1), ["abandoned"], ["abandoned"])
