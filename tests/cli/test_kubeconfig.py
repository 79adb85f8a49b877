"""Every verb that talks to a cluster finds its kubeconfig where kubectl would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.conftest import Cluster, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _place(cluster: Cluster, home: Path, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(home / "missing.kubeconfig")
    if where == "KUBECONFIG":
        monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    elif where == "KUBECONFIG-list":
        monkeypatch.setenv("KUBECONFIG", os.pathsep.join([missing, str(cluster.kubeconfig)]))
    elif where == "RECLAIMER_KUBECONFIG":
        monkeypatch.setenv("RECLAIMER_KUBECONFIG", str(cluster.kubeconfig))
    else:
        (home / ".kube").mkdir()
        (home / ".kube" / "config").write_text(cluster.kubeconfig.read_text())


@pytest.mark.parametrize("where", [
    pytest.param("KUBECONFIG", id="KUBECONFIG"),
    pytest.param("KUBECONFIG-list", id="KUBECONFIG-list-with-a-missing-entry"),
    pytest.param("RECLAIMER_KUBECONFIG", id="RECLAIMER_KUBECONFIG"),
    pytest.param("home", id="home-kube-config"),
])
def test_stop_finds_the_kubeconfig_where_kubectl_would(
        cluster: Cluster, clean_env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], where: str) -> None:
    _place(cluster, clean_env, where, monkeypatch)
    code, _, err = run_cli(capsys, "stop", "team-a/mistral", "--db", cluster.db, "--no-wait")
    assert (code, err) == (0, "")


def test_the_flag_wins_over_kubeconfig(cluster: Cluster, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/elsewhere")
    code, _, _ = run_cli(capsys, "stop", "team-a/mistral", "--db", cluster.db, "--no-wait",
                         "--kubeconfig", str(cluster.kubeconfig))
    assert code == 0


@pytest.mark.parametrize("verb", ["stop", "start"])
def test_a_missing_kubeconfig_is_named_in_one_line(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], verb: str) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kc-a:/nonexistent/kc-b")
    code, _, err = run_cli(capsys, verb, "team-a/mistral", "--db", cluster.db)
    assert code == 1
    assert "/nonexistent/kc-a:/nonexistent/kc-b" in err
    assert len(err.strip().splitlines()) == 1


def test_no_kubeconfig_at_all_names_what_was_tried(
        cluster: Cluster, clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "stop", "team-a/mistral", "--db", cluster.db)
    assert code == 1
    assert str(clean_env / ".kube" / "config") in err
    assert "in-cluster" in err


def test_run_names_the_kubeconfig_it_tried(cluster: Cluster, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/run-kc")
    code, _, err = run_cli(capsys, "run", "--db", cluster.db, "--no-leader-election",
                           "--http-port", "0")
    assert code == 1
    assert "/nonexistent/run-kc" in err
