"""`reclaimer stop/start NS/NAME`: manual, the caller as actor, through the executor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reclaimer.cli import main
from reclaimer.ledger import open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from tests.executor.conftest import NS, isvc_entry
from tests.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration


def _setup(make_sandbox: Callable[..., SandboxHandle], tmp_path: Path, kserve: str,
           mode: str) -> tuple[list[str], str]:
    handle = make_sandbox({"kserve": kserve, "podTerminationSeconds": 0, "namespaces": [NS],
                           "inferenceServices": [isvc_entry(mode=mode)]})
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(handle.world.kubeconfig())
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(db))
    return ["--kubeconfig", str(kubeconfig), "--db", db, "--actor", "alice@laptop",
            "--timeout", "30s"], db


def test_manual_stop_and_start_are_recorded_with_the_caller(
        make_sandbox: Callable[..., SandboxHandle], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    flags, db = _setup(make_sandbox, tmp_path, "0.16", "Standard")
    codes = [main(["stop", f"{NS}/llama", *flags]), main(["start", f"{NS}/llama", *flags])]
    ledger = open_ledger(db)
    try:
        rows = sorted(ledger.history(), key=lambda r: r.id)
    finally:
        ledger.close()
    assert codes == [0, 0]
    assert [(r.transition.action.value, r.transition.trigger.value, r.actor, r.state.value)
            for r in rows] == [
        ("stop", "manual", "alice@laptop", "verified"),
        ("start", "manual", "alice@laptop", "verified")]
    assert "verified" in capsys.readouterr().out


@pytest.mark.parametrize(("mode", "strategy"), [
    pytest.param("Standard", "managed-raw", id="raw-is-managed"),
    pytest.param("Knative", "native", id="knative-is-native")])
def test_manual_stop_on_kserve_015_picks_the_strategy_per_isvc(
        make_sandbox: Callable[..., SandboxHandle], tmp_path: Path, mode: str,
        strategy: str) -> None:
    flags, db = _setup(make_sandbox, tmp_path, "0.15", mode)
    assert main(["stop", f"{NS}/llama", *flags]) == 0
    ledger = open_ledger(db)
    try:
        rows = [(r.strategy, r.state.value) for r in ledger.history()]
    finally:
        ledger.close()
    assert rows == [(strategy, "verified")]


def test_manual_stop_of_modelmesh_fails_with_the_reason(
        make_sandbox: Callable[..., SandboxHandle], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    flags, _ = _setup(make_sandbox, tmp_path, "0.14", "ModelMesh")
    assert main(["stop", f"{NS}/llama", *flags]) == 1
    assert "ModelMesh" in capsys.readouterr().err


@pytest.mark.parametrize("ref", [pytest.param("llama", id="no-namespace"),
                                 pytest.param("a/b/c", id="too-many-parts"),
                                 pytest.param("/llama", id="empty-namespace")])
def test_a_bad_reference_names_the_argument(ref: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stop", ref]) == 1
    assert "NS/NAME" in capsys.readouterr().err


def test_manual_stop_reads_only_the_services_namespace(
        make_sandbox: Callable[..., SandboxHandle], tmp_path: Path) -> None:
    """Run in the pod with watchNamespaces, the service account has only Roles: the
    command's verification must not LIST cluster-wide (docs/least-privilege.md)."""
    handle = make_sandbox({"kserve": "0.14", "podTerminationSeconds": 0, "namespaces": [NS],
                           "inferenceServices": [isvc_entry(mode="Standard")]})
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(handle.world.kubeconfig())
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(db))
    handle.request_log.clear()
    assert main(["stop", f"{NS}/llama", "--kubeconfig", str(kubeconfig), "--db", db,
                 "--timeout", "30s"]) == 0
    lists = {(r.resource, r.namespace) for r in handle.request_log.entries(verb="list")}
    assert lists and all(namespace == NS for _, namespace in lists), lists
