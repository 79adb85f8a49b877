"""Attacks on the rules' markers and heartbeat (review r-rules5), with Prometheus's own
rule engine: ``promtool test rules`` evaluates the groups as a live ruler does, rule by
rule, each failure logged and the group going on, nothing written for a failed rule
(no stale marker either, so the lookback still shows its previous evaluation).

The heartbeat must be absent exactly at the evaluations where a rule failed (a group
``limit`` exceeded, a many-to-many join), the pod map's marker may be at most 120 s old,
and a file whose rules and expectations disagree never vouches. Every selector of a
recorded series, in every rule of every file the chart or the command renders and in
every recorded query, leaves the markers out.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from reclaimer.signals import rules
from reclaimer.signals.presets import GPU_PRESETS, REQUEST_PRESETS
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import PROMTOOL

RECORDED = re.compile(r"(reclaimer:[a-z_]+:1[mh])(\{[^}]*\})?")
DATA_RECORDS = {*rules.MARKED_RECORDS, rules.ISVC_POD}
COMBINATIONS = list(itertools.product([None, *REQUEST_PRESETS], [None, *GPU_PRESETS]))
# One Knative service with one GPU pod (dcgm), healthy, scraped every minute.
FLEET = {
    'kube_pod_labels{namespace="ml",pod="llama-a",label_serving_kserve_io_inferenceservice="llama"}':
        "1x40",
    'kube_pod_container_resource_requests{namespace="ml",pod="llama-a",container="c",'
    'resource="nvidia_com_gpu",unit="integer"}': "1x40",
    'kube_pod_status_phase{namespace="ml",pod="llama-a",phase="Running"}': "1x40",
    'revision_app_request_count{namespace_name="ml",service_name="llama-predictor"}': "0+6x40",
    'DCGM_FI_DEV_GPU_UTIL{namespace="ml",pod="llama-a",gpu="0",UUID="GPU-0"}': "40x40",
}


def _unmarked(expr: str) -> list[str]:
    return [m.group(0) for m in RECORDED.finditer(expr)
            if m.group(1) in DATA_RECORDS and 'reclaimer_marker=""' not in (m.group(2) or "")]


@pytest.mark.parametrize(("requests", "gpu"), COMBINATIONS)
def test_no_rule_reads_a_marker_as_data_and_every_marker_is_its_own_series(
        requests: str | None, gpu: str | None) -> None:
    """Each file `python -m reclaimer.signals.rules` (and the chart) renders: a rule
    reading a recorded series without ``reclaimer_marker=""`` would count a marker as a
    pod, a device or a request; two rules with one record and one label set would
    write one marker series (the TSDB keeps one sample a timestamp), one fewer than
    expected at every evaluation: the recorded mode withheld forever."""
    groups = rules.rule_groups(requests=requests, gpu=gpu)["groups"]
    control = {rules.RULES_STARTED, rules.RULES_EVALUATED}
    written = [(r["record"], tuple(sorted(r.get("labels", {}).items())))
               for g in groups for r in g["rules"] if r["record"] not in control]
    unmarked = [(r["record"], s) for g in groups for r in g["rules"]
                if r["record"] != rules.RULES_EVALUATED for s in _unmarked(r["expr"])]
    assert (unmarked, len(written) - len(set(written))) == ([], 0)


@pytest.mark.parametrize("preset", list(REQUEST_PRESETS))
def test_no_recorded_query_reads_a_marker_as_data(preset: str) -> None:
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": "http://127.0.0.1:9", "signals": {"requests": preset, "mode": "recorded"}}))
    try:
        texts = source.queries_for([timedelta(minutes=30), timedelta(minutes=5)],
                                   recent=timedelta(minutes=5)).values()
    finally:
        source.close()
    assert [s for text in texts for s in _unmarked(text)] == []


def _expect(at_minutes: int, span: int, count: int | None) -> dict[str, Any]:
    samples = [] if count is None else [{"labels": "{}", "value": count}]
    """Heartbeats written within the ``span`` minutes up to ``at_minutes``."""
    expr = f"sum(count_over_time({rules.RULES_EVALUATED}[{span}m]))"
    return {"expr": expr, "eval_time": f"{at_minutes}m", "exp_samples": samples}


def _promtool_test(tmp_path: Path, groups: dict[str, Any], extra: dict[str, str],
                   expectations: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.skip("REAL PROMETHEUS MISSING: /usr/bin/promtool absent")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups, sort_keys=False, width=10_000))
    series = [{"series": k, "values": v} for k, v in {**FLEET, **extra}.items()]
    # promtool runs the groups in a random order unless told: when the signals group
    # ran first at 0m, the pod map's marker was not written yet and the healthy file
    # missed its first heartbeat (16 runs in 100). A live Prometheus misses at most that
    # first one too (safe: the raw queries answer); the test asks for the steady state.
    order = [group["name"] for group in groups["groups"]]
    test = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
            "group_eval_order": order,
            "tests": [{"interval": "1m", "input_series": series,
                       "promql_expr_test": expectations}]}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False, width=10_000))
    return subprocess.run([str(PROMTOOL), "test", "rules", "test.yaml"], capture_output=True,
                          text=True, check=False, timeout=120, cwd=tmp_path)


def _groups(**limits: int) -> dict[str, Any]:
    """The chart's knative/dcgm file, with a sample ``limit`` on some groups."""
    groups = rules.rule_groups(requests="knative", gpu="dcgm")
    for group in groups["groups"]:
        if group["name"] in limits:
            group["limit"] = limits[group["name"]]
    return groups


def _without(groups: dict[str, Any], record: str, preset: str) -> dict[str, Any]:
    """``groups`` without the first rule writing ``record`` for ``preset``."""
    signals = groups["groups"][-1]["rules"]
    index = next(i for i, r in enumerate(signals) if r["record"] == record
                 and r.get("labels", {}).get(rules.PRESET_LABEL) == preset)
    del signals[index]
    return groups


@pytest.mark.integration
@pytest.mark.timeout(120)
@pytest.mark.parametrize("record", [rules.REQUESTS_PRESENT, rules.RULES_EXPECTED])
def test_a_file_whose_rules_and_expectation_disagree_never_vouches(
        tmp_path: Path, record: str) -> None:
    """A hand-edited file: a preset's rule dropped and its expectation kept, or the
    expectation dropped and the rules kept: no heartbeat at any evaluation (the raw
    queries answer, warned), never one vouching for a rule that is not there."""
    done = _promtool_test(tmp_path, _without(_groups(), record, "knative"), {}, [
        _expect(30, 31, None)])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_the_healthy_file_vouches_at_every_evaluation(tmp_path: Path) -> None:
    """The control: the same fleet, the file as shipped: a heartbeat at every minute."""
    done = _promtool_test(tmp_path, _groups(), {}, [_expect(30, 31, 31)])
    assert done.returncode == 0, done.stdout + done.stderr
