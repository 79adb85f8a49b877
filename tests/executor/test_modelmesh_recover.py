"""ModelMesh runtime-level stops killed midway, and how a stop in force is observed.

The sandbox over HTTP plays modelmesh-serving; the crashes are real SIGKILLs of a child
process running the executor on a SQLite ledger (`crash_child.py`). The gap that
matters: a stop killed after its runtime went to 0 and before the ISVC's Stopped
condition looks untouched by annotation and condition, while nothing serves it.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.executor.recover import recover
from reclaimer.kube import rest
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import Rest
from reclaimer.ledger import Ledger, open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from tests.executor.conftest import NS, T0, MakeHarness
from tests.executor.test_modelmesh_runtime import RUNTIME, _isvc, _runtime
from tests.executor.test_recover import _crash
from tests.fixtures.sandbox import SandboxHandle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    return url


@pytest.fixture
def successor(db: str) -> Iterator[Any]:
    """After the crash: the next leader's executor on the same ledger, over HTTP."""
    opened: list[Any] = []

    def make(handle: SandboxHandle) -> tuple[Executor, KubeCluster, Ledger]:
        api = api_client_for_host(handle.url)
        ledger = open_ledger(db)
        opened.extend([api, ledger])
        cluster = KubeCluster(Rest(api))
        return Executor(cluster, ledger, actor="successor"), cluster, ledger

    yield make
    for item in opened:
        item.close()


def _killed(make_sandbox: Any, db: str, die: str, *names: str,
            stopping: str = "a") -> SandboxHandle:
    handle: SandboxHandle = make_sandbox({
        "kserve": "0.16", "podTerminationSeconds": 0, "namespaces": [NS],
        "objects": [_runtime(), *map(_isvc, names)]})
    handle.wait_idle(terminations=True)
    assert _crash(handle, db, die, stopping, idle=True) == -signal.SIGKILL
    return handle


def _spec_replicas(cluster: KubeCluster) -> Any:
    return cluster.get_serving_runtime(NS, RUNTIME)["spec"].get("replicas")


def test_an_idle_stop_killed_after_the_runtime_went_to_zero_is_finished(
        make_sandbox: Any, db: str, successor: Any) -> None:
    """Before the fix recovery abandoned the row: the ISVC looked running, the runtime
    stayed at 0 and nothing ever put it back (a silent outage)."""
    executor, cluster, ledger = successor(_killed(make_sandbox, db, "after-runtime", "a"))
    (recovered,) = recover(executor, at=T0)
    (row,) = ledger.history()
    stopped = st.own_stopped(cluster.get_isvc(ServiceRef(NS, "a")))
    assert (recovered.kind, row.state.value, stopped, _spec_replicas(cluster),
            row.transition.gpus) == (OutcomeKind.APPLIED, "applied", True, 0, 2)


def test_a_killed_stop_whose_runtime_gained_a_user_meanwhile_is_put_back_and_fails(
        make_sandbox: Any, db: str, successor: Any) -> None:
    executor, cluster, ledger = successor(_killed(make_sandbox, db, "after-runtime", "a"))
    cluster.rest.create(rest.ISVC, NS, _isvc("late"))  # a user came while nobody led
    (recovered,) = recover(executor, at=T0)
    (row,) = ledger.history()
    assert (recovered.kind, row.state.value, _spec_replicas(cluster)) == (
        OutcomeKind.FAILED, "failed", None)
    assert f"refused: runtime {RUNTIME} also serves {NS}/late" in (row.error or "")


def test_an_idle_stop_killed_before_the_runtime_no_longer_counts_as_stopped(
        make_sandbox: Any, db: str, successor: Any) -> None:
    """Both users stopped in one chunk, killed at the runtime's scale-down: the rows
    abandoned, their marks must close too, else a later stop of one takes the other
    for stopped and scales the runtime it still needs to 0."""
    executor, cluster, _ = successor(_killed(make_sandbox, db, "before-runtime", "a", "b",
                                             stopping="a,b"))
    recovered = {o.kind for o in recover(executor, at=T0)}
    uid = cluster.get_isvc(ServiceRef(NS, "b"))["metadata"]["uid"]
    other = executor.apply(Transition(
        ref=ServiceRef(NS, "b"), uid=uid, action=Action.STOP, trigger=Trigger.IDLE,
        reason=Reason.IDLE_TIMEOUT, policy="team-a/idle", at=T0), at=T0)
    assert (recovered, other.kind, _spec_replicas(cluster)) == (
        {OutcomeKind.ABANDONED}, OutcomeKind.FAILED, None)
    assert other.message.endswith(f"refused: runtime {RUNTIME} also serves {NS}/a")


def test_a_stop_in_force_without_its_condition_is_observed_stopped(
        make_harness: MakeHarness) -> None:
    """The condition lost (a write given up after conflicts, a person's status edit)
    while the runtime is at 0: the loop must see it stopped, never as a start."""
    h = make_harness("0.16", scenario={"objects": [_runtime(), _isvc("a")]})
    h.settle()
    h.apply(Action.STOP, "a")
    h.settle()
    h.follow_up()
    obj = h.isvc("a")
    kept = [c for c in st.conditions(obj) if c.get("type") != st.STOPPED]
    h.cluster.patch_isvc_status(h.ref("a"), {"status": {"conditions": kept}})
    assert (st.own_stopped(h.isvc("a")), h.executor.managed_stops_in_place()) == (
        False, frozenset({h.ref("a")}))

