"""`reclaimer hold/stop/start --server URL` and `history`'s audit (issue 19).

The owners' API runs in-process over the sandbox (which answers TokenReview and SAR for
alice, who may patch ISVCs in team-a, and bob, who may not); the CLI talks to it over
HTTP with a token from ``--token`` or from the kubeconfig.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from reclaimer.executor.outcome import ExecutorOptions
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.rest import Rest
from reclaimer.kube.reviews import Reviewer
from reclaimer.ledger import open_ledger
from reclaimer.model import ServiceRef
from reclaimer.service.api import ApiServer, OwnersApi
from reclaimer.service.owners import OwnerMetrics, OwnerParts, Owners
from tests.cli.conftest import Cluster, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
NOW = datetime(2030, 3, 29, 17, 50, tzinfo=UTC)
UNTIL = "2030-03-29T20:00:00Z"
LLAMA = ServiceRef("team-a", "llama")


@pytest.fixture
def server(cluster: Cluster) -> Iterator[str]:
    rest = Rest(api_client_for_host(cluster.handle.url))
    inventory = Inventory(rest)
    inventory.start()
    ledger = open_ledger(cluster.db)
    owners = Owners(OwnerParts(services=inventory, ledger=ledger, cluster=KubeCluster(rest),
                               policy_for=lambda service: None, options=ExecutorOptions(),
                               now=lambda: NOW), OwnerMetrics(CollectorRegistry()))
    api = ApiServer(OwnersApi(owners, Reviewer(rest)), host="127.0.0.1", port=0)
    api.start()
    yield f"http://127.0.0.1:{api.port}"
    api.stop()
    inventory.stop()
    ledger.close()


def holds(cluster: Cluster) -> dict[ServiceRef, str]:
    ledger = open_ledger(cluster.db)
    try:
        return {ref: hold.who for ref, hold in ledger.view(NOW).holds.items()}
    finally:
        ledger.close()


def test_hold_through_the_server_names_the_token_owner(
        cluster: Cluster, server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "hold", "team-a/llama", "--until", UNTIL, "--reason", "eval",
                           "--server", server, "--token", "alice-token")
    assert (code, "by alice via api" in out) == (0, True)
    assert holds(cluster) == {LLAMA: "alice"}


def test_token_comes_from_the_kubeconfig(cluster: Cluster, server: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "alice.kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: s, cluster: {{server: '{cluster.handle.url}'}}}}]\n"
        "users: [{name: alice, user: {token: alice-token}}]\n"
        "contexts: [{name: c, context: {cluster: s, user: alice}}]\n")
    code, _, err = run_cli(capsys, "hold", "team-a/llama", "--until", UNTIL, "--reason", "eval",
                           "--server", server, "--kubeconfig", str(kubeconfig))
    assert (code, err) == (0, "")
    assert holds(cluster) == {LLAMA: "alice"}


@pytest.mark.parametrize("verb", [
    pytest.param(["hold", "team-a/llama", "--until", UNTIL, "--reason", "x"], id="hold"),
    pytest.param(["stop", "team-a/llama"], id="stop"),
])
def test_a_user_who_may_not_patch_gets_one_line_and_changes_nothing(
        cluster: Cluster, server: str, capsys: pytest.CaptureFixture[str],
        verb: list[str]) -> None:
    code, _, err = run_cli(capsys, *verb, "--server", server, "--token", "bob-token")
    assert code == 1
    assert err.strip().count("\n") == 0 and "403" in err and "bob may not patch" in err
    assert holds(cluster) == {}
    assert cluster.history() == []


def test_as_is_refused_with_server(cluster: Cluster, server: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "stop", "team-a/llama", "--server", server,
                           "--token", "alice-token", "--as", "mallory")
    assert (code, err.startswith("reclaimer: --as:") or "--as:" in err) == (1, True)


def test_history_says_who_and_from_where(cluster: Cluster, server: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "stop", "team-a/llama", "--server", server,
                   "--token", "alice-token")[0] == 0
    flags = ["--kubeconfig", str(cluster.kubeconfig), "--db", cluster.db, "--no-wait"]
    assert run_cli(capsys, "stop", "team-a/mistral", *flags, "--as", "carol")[0] == 0
    code, out, _ = run_cli(capsys, "history", "--db", cluster.db, "-o", "json")
    assert code == 0
    rows = {(r["name"], r["actor"], r["via"]) for r in json.loads(out)}
    assert rows == {("llama", "alice", "api"), ("mistral", "carol", "cli")}
