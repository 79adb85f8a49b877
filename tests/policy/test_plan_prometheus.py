"""`reclaimer plan --prometheus URL`: the verdict a real tick would make, with evidence.

Against a real Prometheus 2.42 (promtool backfill): at a 12:00 schedule stop with
``busyAtStop: defer``, a service serving requests is deferred and a quiet one stopped,
each with the traffic evidence; offline (no ``--prometheus``) both are unknown, hence
deferred, as before.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from reclaimer.cli import main
from reclaimer.model import ServiceRef
from reclaimer.signals.scripted import Script, Steady
from tests.fixtures.prometheus import OpenMetrics, running_prometheus
from tests.signals.render import Style, render

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
START = AT - timedelta(hours=3)
BUSY = ServiceRef("knative", "busy")
QUIET = ServiceRef("knative", "quiet")
POLICY = """
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: office, namespace: knative}
spec:
  timeZone: UTC
  schedule: [{start: "0 6 * * *", stop: "0 12 * * *"}]
  busyAtStop: defer
  maxDefer: 1h
"""


def _metrics() -> OpenMetrics:
    om = OpenMetrics()
    scripts = {
        BUSY: Script(data_from=START, gpu_levels=((START, 60.0),), steady=(
            Steady(START, AT + timedelta(hours=1), timedelta(seconds=10)),)),
        QUIET: Script(data_from=START, steady=(
            Steady(START, AT - timedelta(hours=2), timedelta(seconds=10)),)),
    }
    for ref, script in scripts.items():
        render(om, ref, script, Style(), start=START, end=AT + timedelta(minutes=10))
    return om


def _inventory(path: Path) -> Path:
    items = [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"namespace": ref.namespace, "name": ref.name, "uid": f"u-{ref.name}",
                           "creationTimestamp": "2026-01-01T00:00:00Z"},
              "spec": {"predictor": {}}, "status": {}} for ref in (BUSY, QUIET)]
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    return path


def _plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str
          ) -> dict[str, dict[str, Any]]:
    (tmp_path / "office.yaml").write_text(POLICY)
    args = ["plan", "--policies", str(tmp_path / "office.yaml"), "--inventory",
            str(_inventory(tmp_path / "isvcs.yaml")), "--at", AT.isoformat(), "-o", "json"]
    assert main([*args, *extra]) == 0
    return {item["name"]: item for item in json.loads(capsys.readouterr().out)}


def test_plan_with_prometheus_shows_the_ticks_verdict_and_evidence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_prometheus(_metrics(), tmp_path / "prom") as url:
        items = _plan(capsys, tmp_path, "--prometheus", url)
    busy, quiet = items["busy"], items["quiet"]
    assert (busy["reason"], busy["evidence"]["traffic"]) == ("DeferredBusy", "busy")
    assert busy["blocked"].startswith("deferred: ")
    assert (quiet["reason"], quiet["evidence"]["traffic"], "blocked" in quiet) == (
        "ScheduleStop", "idle", False)


def test_plan_with_a_config_file_reads_prometheus_from_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "reclaimer.yaml"
    with running_prometheus(_metrics(), tmp_path / "prom") as url:
        config.write_text(f"prometheus:\n  url: {url}\n")
        items = _plan(capsys, tmp_path, "--config", str(config))
    assert items["quiet"]["reason"] == "ScheduleStop"


def test_plan_offline_keeps_todays_behaviour(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    items = _plan(capsys, tmp_path)
    assert {name: item["reason"] for name, item in items.items()} == {
        "busy": "DeferredBusy", "quiet": "DeferredBusy"}
    assert all("evidence" not in item for item in items.values())


def test_plan_table_with_prometheus_has_an_evidence_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "office.yaml").write_text(POLICY)
    with running_prometheus(_metrics(), tmp_path / "prom") as url:
        assert main(["plan", "--policies", str(tmp_path / "office.yaml"), "--inventory",
                     str(_inventory(tmp_path / "isvcs.yaml")), "--at", AT.isoformat(),
                     "--prometheus", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "EVIDENCE"
    assert "traffic=busy" in next(line for line in lines if " busy " in line)
