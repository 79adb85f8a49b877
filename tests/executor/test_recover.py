"""SIGKILL between planned and applied: the next start reconciles the pending row."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.executor.recover import recover
from reclaimer.kube import rest
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import Rest
from reclaimer.ledger import open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from tests.executor.conftest import NS, T0, MakeHarness, isvc_entry
from tests.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration
CHILD = Path(__file__).with_name("crash_child.py")
LEASE = timedelta(seconds=15)
ROOT = Path(__file__).resolve().parents[2]


def _crash(handle: SandboxHandle, db: str, die: str, names: str = "llama", *,
           idle: bool = False) -> int:
    done = subprocess.run(
        [sys.executable, str(CHILD), "--url", handle.url, "--db", db, "--die", die,
         "--at", T0.isoformat(), "--names", names, *(["--idle"] if idle else [])], cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)}, check=False, capture_output=True, timeout=30)
    return done.returncode


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    return url


@pytest.mark.parametrize(("die", "after"), [
    pytest.param("after-api", ("applied", "verified"), id="already-stopped-becomes-applied"),
    pytest.param("before-api", ("retry", "planned"), id="untouched-edge-row-is-kept-planned"),
])
def test_recovery_reconciles_the_planned_row_against_the_cluster(
        make_sandbox: object, db: str, die: str, after: tuple[str, str]) -> None:
    handle = make_sandbox({"kserve": "0.16", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS], "inferenceServices": [isvc_entry()]})
    assert _crash(handle, db, die) == -signal.SIGKILL
    ledger = open_ledger(db)
    try:
        assert [r.state.value for r in ledger.pending()] == ["planned"]
        api = api_client_for_host(handle.url)
        executor = Executor(KubeCluster(Rest(api)), ledger, actor="successor")
        outcomes = recover(executor, at=T0)
        handle.wait_idle(terminations=True)
        executor.followup.run(at=T0)
        states = [r.state.value for r in ledger.history()]
        api.close()
    finally:
        ledger.close()
    assert ([o.kind.value for o in outcomes], states) == ([after[0]], [after[1]])


@pytest.mark.parametrize(("die", "after"), [
    pytest.param("after-api", "verified", id="all-stopped-become-applied"),
    pytest.param("before-api", "planned", id="untouched-edge-rows-are-kept-planned"),
])
def test_recovery_resolves_a_whole_chunk_killed_before_its_applied_mark(
        make_sandbox: object, db: str, die: str, after: str) -> None:
    names = ["a", "b", "c"]
    handle = make_sandbox({"kserve": "0.16", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS],
                           "inferenceServices": [isvc_entry(n) for n in names]})
    assert _crash(handle, db, die, ",".join(names)) == -signal.SIGKILL
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        planned = [r.state.value for r in ledger.pending()]
        executor = Executor(KubeCluster(Rest(api)), ledger, actor="successor")
        recover(executor, at=T0)
        handle.wait_idle(terminations=True)
        executor.followup.run(at=T0)
        states = [r.state.value for r in ledger.history()]
    finally:
        api.close()
        ledger.close()
    assert (planned, states) == (["planned"] * 3, [after] * 3)


def _recovered_untouched(make_sandbox: object, db: str) -> tuple[SandboxHandle, int]:
    """A process killed between its planned row and its PATCH (the leader SIGKILLed
    mid-edge): the row and the edge's claim are in the ledger, the cluster untouched."""
    handle = make_sandbox({"kserve": "0.16", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS], "inferenceServices": [isvc_entry()]})
    _crash(handle, db, "before-api")
    ledger = open_ledger(db)
    try:
        return handle, ledger.pending()[0].id
    finally:
        ledger.close()


def test_the_next_leader_reuses_the_untouched_row_when_the_edge_is_decided_again(
        make_sandbox: object, db: str) -> None:
    """One row per edge: not abandoned beside a second STOP row of the same edge."""
    handle, planned = _recovered_untouched(make_sandbox, db)
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        cluster = KubeCluster(Rest(api))
        executor = Executor(cluster, ledger, actor="successor")
        recover(executor, at=T0)
        uid = cluster.get_isvc(ServiceRef(NS, "llama"))["metadata"]["uid"]
        again = Transition(ref=ServiceRef(NS, "llama"), uid=uid, action=Action.STOP,
                           trigger=Trigger.SCHEDULE, reason=Reason.SCHEDULE_STOP,
                           policy="team-a/office-hours", at=T0,
                           edge_key=f"team-a/office-hours|{uid}|{T0.isoformat()}|stop")
        outcome = executor.apply(again, at=T0)
        rows = [(r.id, r.state.value) for r in ledger.history()]
    finally:
        api.close()
        ledger.close()
    assert (outcome.kind, outcome.record_id, rows) == (
        OutcomeKind.APPLIED, planned, [(planned, "applied")])


def test_the_reused_row_says_the_next_leader_acted_and_keeps_who_planned_it(
        make_sandbox: object, db: str) -> None:
    handle, planned = _recovered_untouched(make_sandbox, db)
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        planner = ledger.pending()[0].actor
        cluster = KubeCluster(Rest(api))
        executor = Executor(cluster, ledger, actor="successor")
        recover(executor, at=T0)
        uid = cluster.get_isvc(ServiceRef(NS, "llama"))["metadata"]["uid"]
        again = Transition(ref=ServiceRef(NS, "llama"), uid=uid, action=Action.STOP,
                           trigger=Trigger.SCHEDULE, reason=Reason.SCHEDULE_STOP,
                           policy="team-a/office-hours", at=T0,
                           edge_key=f"team-a/office-hours|{uid}|{T0.isoformat()}|stop")
        executor.apply(again, at=T0)
        (row,) = ledger.history()
    finally:
        api.close()
        ledger.close()
    assert (row.id, row.actor, row.transition.evidence.get("plannedBy")) == (
        planned, "successor", planner)
    assert planner != "successor"


def test_an_untouched_row_whose_edge_is_not_decided_again_is_abandoned(
        make_sandbox: object, db: str) -> None:
    handle, planned = _recovered_untouched(make_sandbox, db)
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        executor = Executor(KubeCluster(Rest(api)), ledger, actor="successor")
        recover(executor, at=T0)
        closed = executor.settle_retries([], at=T0)
        rows = [(r.id, r.state.value) for r in ledger.history()]
    finally:
        api.close()
        ledger.close()
    assert ([o.record_id for o in closed], rows) == ([planned], [(planned, "abandoned")])


def test_case_2_recover_leaves_a_fresh_row_of_another_process(
        make_harness: MakeHarness) -> None:
    """A row another process wrote within a lease duration may still be in flight (its
    holder's lease has not expired, or `reclaimer stop` is between PATCH and record),
    counted both from its recorded_at and from when this process first saw it pending
    (T0+5 here: its clock may disagree with the writer's)."""
    h = make_harness("0.16", isvc_entry())
    row = h.ledger.record_planned(h.transition(Action.STOP), strategy="native",
                                  actor="replica-old", at=T0)
    early = recover(h.executor, at=T0 + timedelta(seconds=5), in_flight=LEASE)
    late = recover(h.executor, at=T0 + timedelta(seconds=21), in_flight=LEASE)
    assert ([o.kind for o in early], [(o.record_id, o.kind) for o in late]) == (
        [], [(row.id, OutcomeKind.ABANDONED)])


def test_case_2_recover_decides_a_managed_stop_by_its_own_state(
        make_harness: MakeHarness) -> None:
    """KServe 0.14 dropped our condition, but autoscalerClass external and the
    Deployments at 0 are the change: the row becomes applied, not abandoned beside a
    stop the cluster has."""
    h = make_harness("0.14", isvc_entry())
    row = h.ledger.record_planned(h.transition(Action.STOP), strategy="managed-raw",
                                  actor="replica-old", at=T0)
    h.rest.merge_patch(rest.ISVC, NS, "llama", {"metadata": {"annotations": {
        "serving.kserve.io/autoscalerClass": "external"}}})
    h.rest.merge_patch(rest.DEPLOYMENT, NS, "llama-predictor", {"spec": {"replicas": 0}},
                       subresource="scale")
    h.settle()
    outcomes = recover(h.executor, at=T0 + timedelta(minutes=1))
    assert [(o.record_id, o.kind) for o in outcomes] == [(row.id, OutcomeKind.APPLIED)]


def _edge_stop(cluster: KubeCluster) -> Transition:
    uid = cluster.get_isvc(ServiceRef(NS, "llama"))["metadata"]["uid"]
    return Transition(ref=ServiceRef(NS, "llama"), uid=uid, action=Action.STOP,
                      trigger=Trigger.SCHEDULE, reason=Reason.SCHEDULE_STOP,
                      policy="team-a/office-hours", at=T0,
                      edge_key=f"team-a/office-hours|{uid}|{T0.isoformat()}|stop")


def _looks(cluster: KubeCluster) -> tuple[object, dict[str, int]]:
    obj = cluster.get_isvc(ServiceRef(NS, "llama"))
    return ((obj["metadata"].get("annotations") or {}).get("serving.kserve.io/autoscalerClass"),
            {d["metadata"]["name"]: d["spec"]["replicas"]
             for d in cluster.component_deployments(ServiceRef(NS, "llama"))})


def test_a_managed_stop_killed_midway_is_finished_by_its_edge_not_taken_as_applied(
        make_sandbox: object, db: str) -> None:
    handle = make_sandbox({"kserve": "0.15", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS], "inferenceServices": [isvc_entry()]})
    assert _crash(handle, db, "mid-stop") == -signal.SIGKILL
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        cluster = KubeCluster(Rest(api))
        midway = _looks(cluster)
        executor = Executor(cluster, ledger, actor="successor")
        (recovered,) = recover(executor, at=T0)
        again = executor.apply(_edge_stop(cluster), at=T0)
        handle.wait_idle(terminations=True)
        rows = [(r.id, r.state.value) for r in ledger.history()]
        after = _looks(cluster)
    finally:
        api.close()
        ledger.close()
    assert midway == ("external", {"llama-predictor": 1})
    assert (recovered.kind, again.kind, again.record_id) == (
        OutcomeKind.RETRY, OutcomeKind.APPLIED, recovered.record_id)
    assert (rows, after) == ([(recovered.record_id, "applied")],
                             ("external", {"llama-predictor": 0}))


def test_a_managed_idle_stop_killed_midway_is_put_back_and_its_row_says_so(
        make_sandbox: object, db: str) -> None:
    handle = make_sandbox({"kserve": "0.15", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS], "inferenceServices": [isvc_entry()]})
    assert _crash(handle, db, "mid-stop", idle=True) == -signal.SIGKILL
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        cluster = KubeCluster(Rest(api))
        executor = Executor(cluster, ledger, actor="successor")
        (recovered,) = recover(executor, at=T0)
        (row,) = ledger.history()
        after = _looks(cluster)
    finally:
        api.close()
        ledger.close()
    assert (recovered.kind, row.state.value, after) == (
        OutcomeKind.ABANDONED, "abandoned", (None, {"llama-predictor": 1}))
    assert row.error == ("the previous process ended midway through this managed stop; "
                         "rolled back: autoscalerClass removed, as it was")


def test_a_managed_stop_killed_midway_through_its_rollback_is_put_back_not_redone(
        make_sandbox: object, db: str) -> None:
    """The transformer's scale is refused for good, the predictor is put back, and the
    process dies putting the class back: the edge's next decision carries on putting
    back; it does not scale the predictor that was just put back down again."""
    handle = make_sandbox({"kserve": "0.15", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS],
                           "inferenceServices": [isvc_entry(transformer=True)]})
    handle.faults.add("patch", "deployments", name="llama-transformer", status=403,  # type: ignore[attr-defined]
                      times=-1, message="denied by policy no-scale")
    assert _crash(handle, db, "mid-rollback") == -signal.SIGKILL
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        cluster = KubeCluster(Rest(api))
        midway = _looks(cluster)
        executor = Executor(cluster, ledger, actor="successor")
        (recovered,) = recover(executor, at=T0)
        handle.request_log.clear()  # type: ignore[attr-defined]
        again = executor.apply(_edge_stop(cluster), at=T0)
        handle.wait_idle(terminations=True)  # type: ignore[attr-defined]
        scaled = handle.request_log.count(verb="patch", resource="deployments",  # type: ignore[attr-defined]
                                          name="llama-predictor")
        (row,) = ledger.history()
        after = _looks(cluster)
    finally:
        api.close()
        ledger.close()
    assert midway == ("external", {"llama-predictor": 1, "llama-transformer": 1})
    assert (recovered.kind, again.kind, scaled, row.state.value, after) == (
        OutcomeKind.RETRY, OutcomeKind.FAILED, 0, "failed",
        (None, {"llama-predictor": 1, "llama-transformer": 1}))
    assert (row.error or "").startswith("managed-raw: permanent error (Forbidden): 403")


def test_the_row_of_a_stop_killed_mid_rollback_lists_what_the_dead_process_put_back(
        make_sandbox: object, db: str) -> None:
    """Issue 14, the recovered row says every value put back, whoever wrote it: the
    dead process scaled the predictor back, the successor puts the class back; the row
    names both (the fields the stop changed are saved before the first write back)."""
    handle = make_sandbox({"kserve": "0.15", "podTerminationSeconds": 0,  # type: ignore[operator]
                           "namespaces": [NS],
                           "inferenceServices": [isvc_entry(transformer=True)]})
    handle.faults.add("patch", "deployments", name="llama-transformer", status=403,  # type: ignore[attr-defined]
                      times=-1, message="denied by policy no-scale")
    assert _crash(handle, db, "mid-rollback", idle=True) == -signal.SIGKILL
    ledger = open_ledger(db)
    api = api_client_for_host(handle.url)
    try:
        executor = Executor(KubeCluster(Rest(api)), ledger, actor="successor")
        (recovered,) = recover(executor, at=T0)
        (row,) = ledger.history()
    finally:
        api.close()
        ledger.close()
    assert (recovered.kind, row.state.value) == (OutcomeKind.FAILED, "failed")
    assert (row.error or "").endswith(
        "rolled back: Deployment llama-predictor scaled back to 1, "
        "autoscalerClass removed, as it was")
