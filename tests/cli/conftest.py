"""A sandbox with two ISVCs, a kubeconfig for it, and a migrated ledger, for CLI tests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reclaimer.cli import main
from reclaimer.ledger import TransitionRecord, open_ledger
from reclaimer.ledger.engine import ENV_VAR, parse_url
from reclaimer.ledger.schema_check import upgrade
from tests.fixtures.sandbox import SandboxHandle

NS = "team-a"
SCENARIO = {"kserve": "0.16", "podTerminationSeconds": 0, "namespaces": [NS],
            "inferenceServices": [
                {"namespace": NS, "name": "mistral", "mode": "Standard", "gpus": 2},
                {"namespace": NS, "name": "llama", "mode": "Knative", "gpus": 1}]}


@dataclass
class Cluster:
    handle: SandboxHandle
    kubeconfig: Path
    db: str

    def history(self) -> list[TransitionRecord]:
        ledger = open_ledger(self.db)
        try:
            return sorted(ledger.history(), key=lambda r: r.id)
        finally:
            ledger.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No kubeconfig anywhere: an empty HOME, no KUBECONFIG, not in a pod."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("KUBECONFIG", "RECLAIMER_KUBECONFIG", "KUBERNETES_SERVICE_HOST", ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def cluster(make_sandbox: Callable[..., SandboxHandle], tmp_path: Path,
            clean_env: Path) -> Cluster:
    handle = make_sandbox(SCENARIO)
    kubeconfig = tmp_path / "sandbox.kubeconfig"
    kubeconfig.write_text(handle.world.kubeconfig())
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(db))
    return Cluster(handle=handle, kubeconfig=kubeconfig, db=db)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """`run` installs its JSON handler on the root logger, bound to this test's captured
    stderr; later tests must not log into that closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
