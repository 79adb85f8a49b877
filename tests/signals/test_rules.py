"""The shipped recording rules: generated, identical in both places, right per promtool.

``deploy/prometheus/reclaimer-rules.yaml`` (for a Prometheus without the operator) and
the chart's ``rules/reclaimer-rules.yaml`` (its PrometheusRule) are what
`rules.render_file` prints; ``promtool test rules`` checks what the rules record over
hand-made series (``rules/reclaimer-rules.test.yaml``): deltas across a reset and a new
series, change times, the 4-minute presence, GPU peak/mean/devices, GPUs held, moved
pods, GPUs per ISVC, per-pod GPU and request shortfalls.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reclaimer.signals import rules
from reclaimer.signals.presets import GPU_PRESETS, REQUEST_PRESETS
from tests.fixtures.prometheus import PROMTOOL, RULES_FILE

ROOT = Path(__file__).resolve().parents[2]
CHART_RULES = ROOT / "helm" / "reclaimer" / "rules" / "reclaimer-rules.yaml"
RULES_TEST = Path(__file__).parent / "rules" / "reclaimer-rules.test.yaml"


@pytest.mark.parametrize("path", [pytest.param(RULES_FILE, id="deploy"),
                                  pytest.param(CHART_RULES, id="chart")])
def test_shipped_rules_file_is_the_generated_one(path: Path) -> None:
    assert path.read_text() == rules.render_file()


def _records(preset: str) -> set[str]:
    group = rules.rule_groups()["groups"][-1]
    return {r["record"] for r in group["rules"]
            if r.get("labels", {}).get(rules.PRESET_LABEL) == preset}


@pytest.mark.parametrize("preset", [pytest.param(p, id=p) for p in REQUEST_PRESETS])
def test_every_request_preset_has_its_delta_change_and_presence(preset: str) -> None:
    assert _records(preset) >= {rules.REQUESTS_DELTA, rules.REQUESTS_CHANGED,
                                rules.REQUESTS_PRESENT}


@pytest.mark.parametrize("preset", [pytest.param(p, id=p) for p in GPU_PRESETS])
def test_every_gpu_preset_has_its_devices_peak_and_mean(preset: str) -> None:
    assert _records(preset) == {rules.GPU_DEVICE_PRESENT, rules.GPU_UTIL_MAX, rules.GPU_UTIL_AVG,
                                rules.POD_GPUS_SHORT, rules.RULES_EXPECTED}


@pytest.mark.parametrize("requests", [None, *REQUEST_PRESETS])
def test_every_rule_writing_data_writes_a_marker_the_heartbeat_counts(
        requests: str | None) -> None:
    """The heartbeat compares the markers written with the expectation rules' sum: a rule
    without a marker, or a record the heartbeat does not read, would fail or fool it."""
    pods, signals = rules.rule_groups(requests=requests)["groups"]
    control = {rules.RULES_STARTED, rules.RULES_EXPECTED, rules.RULES_EVALUATED}
    marked = [r for r in signals["rules"] if r["record"] not in control]
    expected = sum(int(r["expr"].removeprefix("vector(").removesuffix(")"))
                   for r in signals["rules"] if r["record"] == rules.RULES_EXPECTED)
    assert ({r["expr"].endswith(f" or {rules.MARK}") for r in [*marked, *pods["rules"]]},
            {r["record"] for r in marked} <= set(rules.MARKED_RECORDS), expected) == (
        {True}, True, len(marked))


def test_the_heartbeat_is_the_groups_last_rule_at_the_resolution() -> None:
    group = yaml.safe_load(RULES_FILE.read_text())["groups"][-1]
    assert (group["interval"], group["rules"][-1]["record"]) == ("1m", rules.RULES_EVALUATED)


def test_no_rule_reads_a_series_its_group_writes_later() -> None:
    """A group evaluates its rules in order at one time: a rule reading a record of its
    own group gets that evaluation's sample only if every rule writing it runs first."""
    for group in rules.rule_groups()["groups"]:
        written: set[str] = set()
        later = {r["record"] for r in group["rules"]}
        for rule in group["rules"]:
            read = {name for name in later if name in rule["expr"]}
            assert read <= written, (rule["record"], read - written)
            written.add(rule["record"])


def test_the_heartbeat_is_evaluated_after_every_rule_that_reads_its_group() -> None:
    """Prometheus's ``concurrent-rule-eval``: from 3.2 the rules that read no record of
    their group run first and concurrently, a vector(1) among them, and the rules that
    read one after (rules/manager.go ``SplitGroupIntoBatches``); 2.51-3.1 run a rule
    that neither reads nor is read in a goroutine where it stands (rules/group.go
    ``isRuleEligibleForConcurrentExecution``); both by metric name (``buildDependencyMap``).
    The heartbeat vouches for the rules that read earlier ones, so it reads each of
    their records and runs after them."""
    [group] = [g for g in rules.rule_groups()["groups"] if g["name"] == rules.GROUP]
    records = {r["record"] for r in group["rules"]}
    readers = {r["record"] for r in group["rules"][:-1]
               if any(name in r["expr"] for name in records)}
    heartbeat = group["rules"][-1]["expr"]
    assert (readers, {name for name in readers if name not in heartbeat}) == (
        {rules.POD_GPUS_SHORT, rules.POD_REQUESTS_SHORT}, set())


@pytest.mark.parametrize(("argv", "first_line"), [
    pytest.param(["--requests", "nope"], "error: --requests: 'nope' is not a built-in preset",
                 id="unknown-request-preset"),
    pytest.param(["--gpu", "nvml"], "error: --gpu: 'nvml' is not a built-in preset",
                 id="unknown-gpu-preset"),
])
def test_a_preset_that_is_not_built_in_is_one_line_naming_the_flag(
        argv: list[str], first_line: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = rules.main(argv)
    err = capsys.readouterr().err
    assert (code, err.startswith(first_line), err.count("\n")) == (2, True, 1)


def test_the_file_for_one_configuration_names_its_presets_in_the_heartbeat(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert rules.main(["--requests", "vllm", "--gpu", "dcgm"]) == 0
    group = yaml.safe_load(capsys.readouterr().out)["groups"][-1]
    presets = {r.get("labels", {}).get(rules.PRESET_LABEL) for r in group["rules"]}
    assert (presets, group["rules"][-1]["labels"]) == (
        {None, "vllm", "dcgm"},
        {rules.VERSION_LABEL: rules.RULES_VERSION, rules.REQUESTS_LABEL: "vllm",
         rules.GPU_LABEL: "dcgm"})


def test_the_command_prints_the_file_and_nothing_on_stderr_even_as_errors() -> None:
    """``python -m reclaimer.signals.rules`` as the docs give it, warnings made errors:
    runpy warned (RuntimeWarning, on stderr) when the package had imported the module
    it was asked to run."""
    done = subprocess.run([sys.executable, "-W", "error", "-m", "reclaimer.signals.rules",
                           "--requests", "knative", "--gpu", "dcgm"],
                          capture_output=True, text=True, check=False, timeout=60, cwd=ROOT)
    assert (done.returncode, done.stderr, done.stdout) == (
        0, "", rules.render_file(requests="knative", gpu="dcgm"))


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.skip("REAL PROMETHEUS MISSING: /usr/bin/promtool absent")
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, check=False,
                          timeout=60)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_promtool_accepts_the_rules_file() -> None:
    done = _promtool("check", "rules", str(RULES_FILE))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_promtool_unit_tests_of_the_rules_pass() -> None:
    done = _promtool("test", "rules", str(RULES_TEST))
    assert done.returncode == 0, done.stdout + done.stderr
