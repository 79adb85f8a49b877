"""Bad input gets one line naming what is wrong and exit 1, never a traceback and never
a quiet exit 0 (issue 16, items 5-7)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cluster, run_cli

NOT_UTF8 = b"\xff\xfe\x00kind: nonsense\n"
POLICIES = str(Path(__file__).resolve().parents[2] / "policies")


@pytest.fixture
def files(tmp_path: Path, clean_env: Path) -> Path:
    (tmp_path / "binary.yaml").write_bytes(NOT_UTF8)
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "tick0.yaml").write_text("tick: 0s\n")
    (tmp_path / "leader.yaml").write_text("leaderElection: yes\n")
    (tmp_path / "typo.yaml").write_text("tikc: 30s\n")
    (tmp_path / "sink.yaml").write_text(
        "notify: {sinks: [{name: a, url: 'http://hook.example', format: irc}]}\n")
    (tmp_path / "list.yaml").write_text("apiVersion: v1\nkind: List\nitems: []\n")
    return tmp_path


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1, err
    assert err.startswith("reclaimer: ")
    return err


@pytest.mark.parametrize(("argv", "says"), [
    pytest.param(["plan", "--policies", POLICIES, "--inventory", "{d}/binary.yaml"],
                 "--inventory: {d}/binary.yaml is not a UTF-8 text file", id="plan-inventory"),
    pytest.param(["run", "--config", "{d}/binary.yaml"],
                 "config --config: {d}/binary.yaml is not a UTF-8 text file", id="run-config"),
    pytest.param(["stop", "a/b", "--kubeconfig", "{d}/binary.yaml"],
                 "config kubeconfig: {d}/binary.yaml: not a UTF-8 text file",
                 id="stop-kubeconfig"),
    pytest.param(["sandbox", "--scenario", "{d}/binary.yaml"],
                 "--scenario: {d}/binary.yaml: not a UTF-8 text file", id="sandbox-scenario"),
    pytest.param(["sandbox", "--port", "99999"], "--port: '99999' is not a TCP port",
                 id="sandbox-port-99999"),
    pytest.param(["demo", "--out", "/proc/x"], "--out: cannot write to /proc/x",
                 id="demo-out-unwritable"),
    pytest.param(["sandbox", "--kubeconfig-out", "/proc/x"],
                 "--kubeconfig-out: cannot write /proc/x", id="sandbox-kubeconfig-out"),
    pytest.param(["report", "--png", "x.txt", "--db", "sqlite:///{d}/x.db"],
                 "--png: x.txt does not end in .png", id="report-png-txt"),
])
def test_what_was_a_traceback_is_one_line(capsys: pytest.CaptureFixture[str], files: Path,
                                          argv: list[str], says: str) -> None:
    err = _refused(capsys, [a.replace("{d}", str(files)) for a in argv])
    assert says.replace("{d}", str(files)) in err


def test_run_on_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str], files: Path,
                                          held_port: int) -> None:
    err = _refused(capsys, ["run", "--http-port", str(held_port), "--policies", POLICIES,
                            "--db", f"sqlite:///{files}/x.db"])
    assert f"config http.port: cannot listen on 0.0.0.0:{held_port}" in err


def test_run_with_a_log_level_it_does_not_know_is_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "run", "--log-level", "chatty")
    assert exited.value.code == 2
    assert "--log-level: invalid choice: 'CHATTY'" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "says"), [
    pytest.param(["validate", "{d}/empty.yaml"], "", id="validate-empty-policy-file"),
    pytest.param(["plan", "--policies", POLICIES, "--inventory", "{d}/list.yaml"],
                 "--inventory: {d}/list.yaml holds no InferenceService", id="plan-no-isvcs"),
    pytest.param(["demo", "--days", "0"], "--days: 0 is not between 1 and 92", id="demo-days-0"),
    pytest.param(["demo", "--policies", "/nonexistent"],
                 "--policies: /nonexistent: no such file or directory",
                 id="demo-policies-missing"),
    pytest.param(["run", "--config", "{d}/tick0.yaml"],
                 "config tick: '0s' is shorter than the minimum 1s", id="tick-0s"),
    pytest.param(["run", "--policies", "/nonexistent/policies"],
                 "config policies: /nonexistent/policies: no such file or directory",
                 id="run-policies-missing"),
])
def test_bad_input_that_passed_is_refused(capsys: pytest.CaptureFixture[str], files: Path,
                                          argv: list[str], says: str) -> None:
    argv = [a.replace("{d}", str(files)) for a in argv]
    if argv[0] == "validate":
        code, out, _ = run_cli(capsys, *argv)
        assert code == 1
        assert "no ReclaimPolicy document in this file" in out
        return
    assert says.replace("{d}", str(files)) in _refused(capsys, argv)


@pytest.mark.integration
def test_hold_of_a_service_the_cluster_does_not_have_is_refused(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, ["hold", "team-a/mistrall", "--until", "2h", "--reason", "x",
                            "--kubeconfig", str(cluster.kubeconfig), "--db", cluster.db])
    assert "team-a/mistrall is not an InferenceService in the cluster" in err


@pytest.mark.integration
def test_hold_of_a_service_the_cluster_has_is_made(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "hold", "team-a/mistral", "--until", "2h", "--reason", "x",
                           "--kubeconfig", str(cluster.kubeconfig), "--db", cluster.db)
    assert code == 0
    assert "not checked" not in out


@pytest.mark.parametrize(("config", "says"), [
    pytest.param("leader.yaml", "config leaderElection: must be a mapping of enabled",
                 id="leaderElection-yes"),
    pytest.param("typo.yaml", "config tikc: unknown setting; did you mean tick?", id="tikc"),
    pytest.param("sink.yaml", "config notify.sinks[0].format: 'irc' is not one of generic",
                 id="sink-format"),
])
def test_a_config_mistake_says_what_is_meant(capsys: pytest.CaptureFixture[str], files: Path,
                                             config: str, says: str) -> None:
    assert says in _refused(capsys, ["run", "--config", str(files / config)])


def test_validate_reports_every_error_of_a_document(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: reclaimer.io/v1alpha1\nkind: ReclaimPolicy\n"
                   "metadata: {name: oh, namespace: team-a}\n"
                   "spec:\n  timeZone: Mars/Base\n  schedule: [{start: '0 8 * * *', "
                   "stop: '0 19 * * *'}]\n  idle: {after: 30 minutes}\n  mode: sometimes\n")
    code, out, _ = run_cli(capsys, "validate", str(bad), "-o", "json")
    assert code == 1
    assert [item["field"] for item in json.loads(out)] == [
        "spec.timeZone", "spec.idle.after", "spec.mode"]


def test_validate_table_and_json_list_the_same_errors(
        capsys: pytest.CaptureFixture[str], files: Path) -> None:
    paths = [POLICIES, str(files / "empty.yaml")]
    _, table, _ = run_cli(capsys, "validate", *paths)
    _, as_json, _ = run_cli(capsys, "validate", *paths, "-o", "json")
    rows = [line.split(maxsplit=3) for line in table.splitlines()[1:-1]]
    assert [[r[0], r[1], r[2]] for r in rows] == [
        [item["file"], str(item["document"]), item["field"]] for item in json.loads(as_json)]
    assert table.splitlines()[-1].startswith("1 of ")
