"""`reclaimer signals` against the real Prometheus of this area."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reclaimer.cli import main
from reclaimer.model import ServiceRef
from tests.signals.scenarios import AT

KEYS = ["kind", "namespace", "name", "state", "requests", "secondsSinceLastRequest",
        "gpuUtilizationMax", "gpuUtilizationMean", "gpus", "coverageSeconds", "reason"]
AT_TEXT = AT.isoformat()


def _items(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["signals", *args, "-o", "json"]) == 0
    items: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return items


@pytest.mark.integration
def test_json_items_have_exactly_the_design_keys(scenario_prometheus: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    items = _items(capsys, "--prometheus", scenario_prometheus, "--at", AT_TEXT)
    assert {tuple(i) for i in items} == {tuple(KEYS)}


@pytest.mark.integration
@pytest.mark.parametrize(("ref", "expected"), [
    pytest.param(ServiceRef("knative", "stopped-2h-ago"),
                 {"state": "known", "requests": 0.0, "gpus": 1}, id="known"),
    pytest.param(ServiceRef("knative", "gap-10m"),
                 {"state": "unknown", "requests": None, "gpuUtilizationMax": None}, id="unknown"),
])
def test_json_values(scenario_prometheus: str, capsys: pytest.CaptureFixture[str],
                     ref: ServiceRef, expected: dict[str, object]) -> None:
    items = _items(capsys, "--prometheus", scenario_prometheus, "--at", AT_TEXT)
    item = next(i for i in items if (i["namespace"], i["name"]) == (ref.namespace, ref.name))
    assert {k: item[k] for k in expected} == expected


@pytest.mark.integration
def test_config_file_chooses_the_preset_and_window(scenario_prometheus: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "reclaimer.yaml"
    config.write_text(f"prometheus:\n  url: {scenario_prometheus}\n"
                      "  signals: {requests: istio, gpu: dcgm}\n")
    items = _items(capsys, "--config", str(config), "--at", AT_TEXT, "--window", "5m")
    steady = next(i for i in items if (i["namespace"], i["name"]) == ("istio", "steady"))
    assert (steady["state"], steady["coverageSeconds"]) == ("known", 300.0)


@pytest.mark.integration
def test_table_lists_every_service(scenario_prometheus: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", "--prometheus", scenario_prometheus, "--at", AT_TEXT]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (lines[0].split()[:5], any("stopped-2h-ago" in line for line in lines)) == (
        ["KIND", "NAMESPACE", "NAME", "STATE", "REQUESTS"], True)


@pytest.mark.integration
def test_table_says_which_kind_is_schedule_only(scenario_prometheus: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", "--prometheus", scenario_prometheus, "--at", AT_TEXT]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("(InferenceGraph has no request signal") and "schedule" in last


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--window", "half an hour"], "--window", id="bad-window"),
    pytest.param(["--at", "yesterday"], "--at", id="bad-at"),
    pytest.param(["--prometheus", "prometheus:9090"], "prometheus.url", id="bad-url"),
    pytest.param(["--prometheus", "http://127.0.0.1:1"], "MetricsUnavailable", id="down"),
])
def test_bad_input_or_failure_exits_1_with_reason(capsys: pytest.CaptureFixture[str],
                                                  args: list[str], message: str) -> None:
    code = main(["signals", *args, "--at", AT_TEXT] if "--at" not in args else ["signals", *args])
    assert (code, message in capsys.readouterr().err) == (1, True)


@pytest.mark.integration
def test_installed_command_runs(scenario_prometheus: str) -> None:
    done = subprocess.run([sys.executable, "-m", "reclaimer", "signals", "--prometheus",
                           scenario_prometheus, "--at", AT_TEXT, "-o", "json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, len(json.loads(done.stdout)) > 0) == (0, True)


def test_queries_flag_prints_the_promql_without_running_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", "--prometheus", "http://127.0.0.1:1", "--queries", "-o", "json"]) == 0
    queries = json.loads(capsys.readouterr().out)
    assert (sorted(queries), "[1800s]" in queries["requests"]) == (
        sorted(["requests", "lastRequest", "coverage", "freshness", "gpuMax", "gpuMean",
                "gpus"]), True)
