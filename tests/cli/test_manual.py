"""`stop`/`start` record the GPUs they free and respect holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.cli.manual_parts import Request, carry_out
from reclaimer.executor.executor import Executor
from reclaimer.executor.recover import recover
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.rest import Rest
from reclaimer.ledger import open_ledger
from reclaimer.ledger.records import WAIT_KEY
from reclaimer.model import Action, ServiceRef
from reclaimer.service.loop import LoopParts, LoopSettings, Reconciler
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.signals.scripted import ScriptedSignals
from tests.cli.conftest import Cluster, run_cli

# After the CLI's row (real clock), so the service's tick comes later.
LATER = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.mark.parametrize(("name", "gpus"), [pytest.param("mistral", 2, id="standard-2-gpus"),
                                            pytest.param("llama", 1, id="knative-1-gpu")])
def test_manual_stop_and_start_record_the_gpus_they_free(
        cluster: Cluster, capsys: pytest.CaptureFixture[str], name: str, gpus: int) -> None:
    flags = ["--kubeconfig", str(cluster.kubeconfig), "--db", cluster.db, "--timeout", "30s"]
    codes = [run_cli(capsys, verb, f"team-a/{name}", *flags)[0] for verb in ("stop", "start")]
    assert codes == [0, 0]
    assert [(r.transition.action.value, r.transition.gpus) for r in cluster.history()] == [
        ("stop", gpus), ("start", gpus)]


def test_the_report_counts_a_manual_stop(cluster: Cluster,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--kubeconfig", str(cluster.kubeconfig), "--db", cluster.db, "--timeout", "30s"]
    assert run_cli(capsys, "stop", "team-a/mistral", *flags)[0] == 0
    code, out, _ = run_cli(capsys, "report", "--db", cluster.db, "-o", "json")
    assert code == 0
    assert '"stopsWithUnknownGpus": 0' in out


def test_stop_refuses_a_held_service(cluster: Cluster,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "hold", "team-a/mistral", "--until", "2h", "--reason", "eval",
                   "--db", cluster.db)[0] == 0
    code, _, err = run_cli(capsys, "stop", "team-a/mistral", "--kubeconfig",
                           str(cluster.kubeconfig), "--db", cluster.db)
    assert code == 1
    assert "held until" in err and "eval" in err
    assert cluster.history() == []


def test_stop_of_a_held_service_goes_ahead_when_asked(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "hold", "team-a/mistral", "--until", "2h", "--reason", "eval",
                   "--db", cluster.db)[0] == 0
    code, _, _ = run_cli(capsys, "stop", "team-a/mistral", "--kubeconfig",
                         str(cluster.kubeconfig), "--db", cluster.db, "--ignore-hold",
                         "--no-wait")
    assert code == 0


def test_a_leftover_no_wait_stop_verified_by_the_service_counts_as_manual(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "stop", "team-a/mistral", "--kubeconfig", str(cluster.kubeconfig),
                   "--db", cluster.db, "--no-wait")[0] == 0
    cluster.handle.wait_idle(terminations=True)
    metrics = ServiceMetrics()
    rest = Rest(api_client_for_host(cluster.handle.url))
    ledger = open_ledger(cluster.db)
    executor = Executor(KubeCluster(rest), ledger, actor="service")
    parts = LoopParts(inventory=Inventory(rest), signals=ScriptedSignals({}), ledger=ledger,
                      executor=executor)
    reconciler = Reconciler(parts, settings=LoopSettings(policy_paths=()), metrics=metrics)
    try:
        parts.inventory.start()
        recover(executor, at=LATER)
        reconciler.reconcile_once(LATER)
    finally:
        reconciler.close()
        parts.inventory.stop()
        ledger.close()
    labels = {"action": "stop", "outcome": "verified"}
    assert [metrics.registry.get_sample_value("reclaimer_transitions_total",
                                              {**labels, "trigger": trigger})
            for trigger in ("manual", "schedule")] == [1.0, None]


def test_the_wait_reports_what_it_waits_for_and_the_outcome(cluster: Cluster) -> None:
    said: list[tuple[str, bool]] = []

    def progress(what: str, elapsed: timedelta, *, done: bool = False) -> None:
        said.append((what, done))

    request = Request(ref=ServiceRef("team-a", "mistral"), action=Action.STOP, actor="me",
                      kubeconfig=str(cluster.kubeconfig), database=cluster.db,
                      strategy="auto", kserve_namespace="kserve",
                      timeout=timedelta(seconds=30), wait=True, ignore_hold=False)
    outcome = carry_out(request, now=lambda: datetime.now(UTC), progress=progress)
    assert outcome.kind.value == "verified"
    assert said[-1] == ("stop team-a/mistral: verified", True)
    assert all(what == "stop team-a/mistral: waiting for pods gone and Stopped=True"
               for what, done in said[:-1] if not done)


@pytest.mark.parametrize(("flags", "wait"), [
    pytest.param(("--timeout", "90s"), 90, id="waits-its-timeout"),
    pytest.param(("--timeout", "90s", "--no-wait"), None, id="no-wait"),
])
def test_the_row_says_how_long_the_cli_verifies_it_itself(
        cluster: Cluster, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...],
        wait: int | None) -> None:
    """The service's recovery leaves the row that long before settling it."""
    assert run_cli(capsys, "stop", "team-a/mistral", "--kubeconfig", str(cluster.kubeconfig),
                   "--db", cluster.db, *flags)[0] == 0
    (row,) = cluster.history()
    assert (row.transition.evidence["via"], row.transition.evidence.get(WAIT_KEY)) == (
        "cli", wait)
