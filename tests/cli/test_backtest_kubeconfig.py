"""`reclaimer backtest --kubeconfig`: the inventory read from a cluster (the sandbox over HTTP)."""

from __future__ import annotations

import pytest

from reclaimer.cli.backtest_cmd import cluster_inventory
from reclaimer.model import DeploymentMode, ServiceKind, ServiceRef
from tests.cli.conftest import NS, Cluster, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_services_kinds_modes_and_gpus_come_from_the_cluster(cluster: Cluster) -> None:
    services = cluster_inventory(str(cluster.kubeconfig), default_mode=DeploymentMode.KNATIVE)
    assert sorted((s.ref, s.ref.kind, s.mode, s.gpus) for s in services) == [
        (ServiceRef(NS, "llama"), ServiceKind.INFERENCE_SERVICE, DeploymentMode.KNATIVE, 1),
        (ServiceRef(NS, "mistral"), ServiceKind.INFERENCE_SERVICE, DeploymentMode.STANDARD, 2)]


def test_inventory_and_kubeconfig_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli(capsys, "backtest", "--policies", "p.yaml", "--inventory", "i.yaml",
                "--kubeconfig", "k", "--prometheus", "http://127.0.0.1:9",
                "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-02T06:00:00Z")
    assert "not allowed with argument" in capsys.readouterr().err
