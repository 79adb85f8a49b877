"""The ``recorded`` mode against the raw queries, on a real Prometheus 2.42.

The scenario world (`scenarios.world`: every request preset x every edge case: new
series, reset, a 10-minute gap, stale data, late start, MIG, exported labels, CPU only,
odd names) is backfilled with promtool, then the shipped recording rules are evaluated
over it with ``promtool tsdb create-blocks-from rules`` at 17 s past each minute (a live
group's phase is arbitrary). Every service must get the same judgement in both modes:
the same state, and where known the same traffic verdict, a last request never older
than the raw one, a GPU peak never lower. Before the rules cover the horizon, and with
no rules at all, the recorded mode answers with the raw queries, logs it once and
counts each such evaluation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import yaml

from reclaimer.model import ServiceRef, Signals, SignalState
from reclaimer.signals import rules
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.queries import Query
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import running_prometheus_with_rules
from tests.signals.scenarios import AT, PRESETS, SCENARIOS, START, WEIRD, WINDOW, world

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
RULES_FROM = START + timedelta(minutes=2, seconds=17)
LOOKBACK = timedelta(minutes=5)
INSTANTS = [pytest.param(AT, id="aligned"),
            pytest.param(AT + timedelta(seconds=50), id="unaligned")]
REFS = [pytest.param(ServiceRef(p, n), id=f"{p}-{n}") for p in PRESETS for n in SCENARIOS]
Answer = tuple[dict[ServiceRef, Signals], int]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    om, _ = world()
    with running_prometheus_with_rules(om, tmp_path_factory.mktemp("recorded"),
                                       start=RULES_FROM, end=AT + timedelta(minutes=5)) as u:
        yield u


def _fetch(url: str, preset: str, mode: str, at: datetime) -> Answer:
    """Signals of one evaluation and the number of fallbacks to the raw queries."""
    settings = PrometheusSettings.from_mapping(
        {"url": url, "signals": {"requests": preset, "mode": mode}})
    fallbacks: list[None] = []
    source = PrometheusSignals(settings, on_fallback=lambda: fallbacks.append(None))
    try:
        got = source.fetch_windows(at=at, windows=[WINDOW], recent=LOOKBACK)[WINDOW]
    finally:
        source.close()
    return got, len(fallbacks)


@pytest.fixture(scope="module")
def answers(url: str) -> dict[tuple[str, str, datetime], Answer]:
    return {(preset, mode, at.values[0]): _fetch(url, preset, mode, at.values[0])
            for preset in PRESETS for mode in ("raw", "recorded") for at in INSTANTS}


def _verdict(s: Signals) -> tuple[object, ...]:
    """What the policies read: state; where known, traffic at all, in the lookback, GPU."""
    if s.state is not SignalState.KNOWN:
        return (s.state, s.gpus)
    recent = s.seconds_since_last_request
    return (s.state, s.gpus, (s.requests or 0) > 0, recent is not None,
            recent is not None and recent <= LOOKBACK.total_seconds(),
            (s.gpu_utilization_max or 0) >= 5)


@pytest.mark.parametrize("at", INSTANTS)
@pytest.mark.parametrize("ref", REFS)
def test_recorded_and_raw_modes_judge_every_scenario_alike(
        answers: dict[tuple[str, str, datetime], Answer], ref: ServiceRef, at: datetime,
) -> None:
    raw, _ = answers[(ref.namespace, "raw", at)]
    recorded, fallbacks = answers[(ref.namespace, "recorded", at)]
    assert (fallbacks, _verdict(recorded[ref])) == (0, _verdict(raw[ref]))


@pytest.mark.parametrize("at", INSTANTS)
@pytest.mark.parametrize("ref", REFS)
def test_recorded_last_request_and_gpu_peak_are_never_idler_than_raw(
        answers: dict[tuple[str, str, datetime], Answer], ref: ServiceRef, at: datetime,
) -> None:
    raw = answers[(ref.namespace, "raw", at)][0][ref]
    recorded = answers[(ref.namespace, "recorded", at)][0][ref]
    since = (recorded.seconds_since_last_request, raw.seconds_since_last_request)
    peak = (recorded.gpu_utilization_max, raw.gpu_utilization_max)
    assert (since[0] is None or since[1] is None or since[0] <= since[1],
            peak[0] is None or peak[1] is None or peak[0] >= peak[1]) == (True, True)


@pytest.mark.parametrize("preset", PRESETS)
def test_both_windows_of_a_tick_are_judged_alike(url: str, preset: str) -> None:
    """The raw tails are asked once for every window (their rows carry no window):
    each window still gets them, added to its requests and its GPU peak."""
    def both(mode: str) -> dict[timedelta, list[tuple[object, ...]]]:
        source = PrometheusSignals(PrometheusSettings.from_mapping(
            {"url": url, "signals": {"requests": preset, "mode": mode}}))
        try:
            got = source.fetch_windows(at=AT, windows=[WINDOW, LOOKBACK], recent=LOOKBACK)
        finally:
            source.close()
        return {w: [_verdict(got[w][ref]) for ref in sorted(got[w])] for w in got}

    assert both("recorded") == both("raw")


def test_recorded_mode_serves_the_same_services(
        answers: dict[tuple[str, str, datetime], Answer]) -> None:
    got = {key: sorted(ref.name for ref in answer[0]) for key, answer in answers.items()}
    raw = {(p, at): names for (p, mode, at), names in got.items() if mode == "raw"}
    assert {(p, at): names for (p, mode, at), names in got.items() if mode == "recorded"} == raw


def test_odd_names_are_judged_alike(url: str) -> None:
    raw, _ = _fetch(url, "knative", "raw", AT)
    recorded, fallbacks = _fetch(url, "knative", "recorded", AT)
    assert (fallbacks, _verdict(recorded[WEIRD])) == (0, _verdict(raw[WEIRD]))


def test_before_the_rules_cover_the_horizon_the_raw_answer_is_used(url: str) -> None:
    at = RULES_FROM + timedelta(minutes=40)
    raw, _ = _fetch(url, "knative", "raw", at)
    recorded, fallbacks = _fetch(url, "knative", "recorded", at)
    assert (fallbacks, recorded) == (1, raw)


def test_without_rules_every_evaluation_falls_back_and_is_logged_once(
        scenario_prometheus: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = PrometheusSettings.from_mapping(
        {"url": scenario_prometheus, "signals": {"mode": "recorded"}})
    raw_settings = PrometheusSettings.from_mapping({"url": scenario_prometheus})
    fallbacks: list[None] = []
    source = PrometheusSignals(settings, on_fallback=lambda: fallbacks.append(None))
    raw = PrometheusSignals(raw_settings)
    try:
        with caplog.at_level(logging.WARNING, logger="reclaimer.signals"):
            got = [source.fetch(at=AT, window=WINDOW) for _ in range(2)]
        expected = raw.fetch(at=AT, window=WINDOW)
    finally:
        source.close()
        raw.close()
    warned = [r for r in caplog.records if "recording rules" in r.getMessage()]
    assert (len(fallbacks), len(warned), got) == (2, 1, [expected, expected])


def test_rules_of_an_older_version_are_not_used(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """A full heartbeat from the previous rules file (no version label) does not vouch
    for series that file never recorded (moved pods, shortfalls): raw answer."""
    old = tmp_path_factory.mktemp("old-rules") / "old.yaml"
    old.write_text(yaml.safe_dump({"groups": [{"name": rules.GROUP, "interval": "1m", "rules": [
        {"record": rules.RULES_EVALUATED, "expr": "vector(1)"}]}]}))
    om, _ = world()
    with running_prometheus_with_rules(om, tmp_path_factory.mktemp("old"), start=RULES_FROM,
                                       end=AT + timedelta(minutes=5), rules=old) as url:
        raw, _ = _fetch(url, "kserve-python", "raw", AT)
        recorded, fallbacks = _fetch(url, "kserve-python", "recorded", AT)
    assert (fallbacks, recorded) == (1, raw)


@pytest.mark.parametrize("query", ["requests", "gpuMax"])
def test_a_raw_tail_is_asked_once_whatever_the_windows(query: str) -> None:
    """Four windows cost the raw series one read, as one window does."""
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": "http://127.0.0.1:1", "signals": {"mode": "recorded"}}))
    raw = {"requests": "revision_app_request_count", "gpuMax": "DCGM_FI_DEV_GPU_UTIL"}[query]
    reads = [source.queries_for([timedelta(minutes=m) for m in minutes])[Query(query)].count(raw)
             for minutes in ([30], [5, 10, 30, 60])]
    source.close()
    assert reads[0] == reads[1] > 0


@pytest.mark.parametrize("preset", PRESETS)
def test_recorded_coverage_and_gpu_count_read_minutes_of_raw_series_not_the_horizon(
        preset: str) -> None:
    """Moved pods, per-pod shortfalls and the GPU count are recorded: of the raw series
    only the pod labels of the last 4 minutes are read (moves newer than the rules'
    last evaluation), never kube-state-metrics over the horizon or at every step."""
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": "http://127.0.0.1:1", "signals": {"requests": preset, "mode": "recorded"}}))
    built = source.queries_for([WINDOW, LOOKBACK], recent=LOOKBACK)
    source.close()
    text = built[Query.COVERAGE] + built[Query.GPUS]
    ranges = set(re.findall(r"kube_pod_labels\{[^}]*\}\[(\w+)\]", text))
    assert (ranges, "kube_pod_container_resource_requests" in text,
            "kube_pod_labels" in built[Query.GPUS]) == ({"240s"}, False, False)
