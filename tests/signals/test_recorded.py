"""The ``recorded`` mode against the raw queries, on a real Prometheus 2.42.

The scenario world (`scenarios.world`: every request preset x every edge case: new
series, reset, a 10-minute gap, stale data, late start, MIG, exported labels, CPU only,
odd names) is backfilled with promtool, then the shipped recording rules are evaluated
over it with ``promtool tsdb create-blocks-from rules`` at 17 s past each minute (a live
group's phase is arbitrary). Every service must get the same judgement in both modes:
the same state, and where known the same traffic verdict, a last request never older
than the raw one, a GPU peak never lower. Before the rules cover the horizon, with
no rules at all, and while evaluations where rules failed in Prometheus (a duplicated
pod map entry: "many-to-many matching not allowed") are within the horizon, the
recorded mode answers with the raw queries, logs it once and counts each such
evaluation.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from reclaimer.errors import PartialAnswer
from reclaimer.model import ServiceRef, Signals, SignalState
from reclaimer.signals import rules
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.queries import Query
from reclaimer.signals.recorded_answer import LastSeen
from reclaimer.signals.scripted import Script
from reclaimer.signals.settings import PrometheusSettings
from reclaimer.signals.windows import WINDOW_LABEL
from tests.fixtures.prometheus import (
    OpenMetrics,
    backfill,
    backfill_rules,
    running_prometheus_with_rules,
    serving,
)
from tests.signals.proxy import Injection, counting_proxy
from tests.signals.render import EVERY, Style, pod_of, render
from tests.signals.scenarios import (
    AT,
    END,
    PRESETS,
    SCENARIOS,
    START,
    WEIRD,
    WINDOW,
    world,
)

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


@pytest.fixture(scope="module")
def one_preset_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The rules as the chart renders them for kserve-python and dcgm alone."""
    path = tmp_path_factory.mktemp("one-preset-rules") / "rules.yaml"
    path.write_text(rules.render_file(requests="kserve-python", gpu="dcgm"))
    om, _ = world()
    with running_prometheus_with_rules(om, tmp_path_factory.mktemp("one-preset"),
                                       start=RULES_FROM, end=AT + timedelta(minutes=5),
                                       rules=path) as u:
        yield u


def test_rules_of_the_configured_presets_alone_answer_as_the_whole_file(
        one_preset_url: str, answers: dict[tuple[str, str, datetime], Answer]) -> None:
    """Judged alike, service by service (each file's group runs at its own phase, as
    two live Prometheus would, so coverage may differ by a step's share)."""
    got, fallbacks = _fetch(one_preset_url, "kserve-python", "recorded", AT)
    whole, _ = answers[("kserve-python", "recorded", AT)]
    assert (fallbacks, {r: _verdict(s) for r, s in got.items()}) == (
        0, {r: _verdict(s) for r, s in whole.items()})


@pytest.fixture(scope="module")
def version_2_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Every preset's rules with the heartbeat of the previous release's file."""
    groups = rules.rule_groups()
    groups["groups"][-1]["rules"][-1]["labels"] = {rules.VERSION_LABEL: "2"}
    path = tmp_path_factory.mktemp("v2-rules") / "rules.yaml"
    path.write_text(yaml.safe_dump(groups, sort_keys=False, width=10_000))
    om, _ = world()
    with running_prometheus_with_rules(om, tmp_path_factory.mktemp("v2"), start=RULES_FROM,
                                       end=AT + timedelta(minutes=5), rules=path) as u:
        yield u


def test_the_previous_releases_rules_file_still_serves_the_recorded_mode(
        version_2_url: str) -> None:
    """It recorded every preset: a service upgraded before its rules keeps using them
    rather than fall back to the raw queries (3-4 times the Prometheus CPU)."""
    raw, _ = _fetch(version_2_url, "kserve-python", "raw", AT)
    recorded, fallbacks = _fetch(version_2_url, "kserve-python", "recorded", AT)
    assert (fallbacks, {r: _verdict(s) for r, s in recorded.items()}) == (
        0, {r: _verdict(s) for r, s in raw.items()})


def test_rules_of_another_preset_are_not_used(one_preset_url: str) -> None:
    """Their heartbeat names kserve-python: it never vouches for knative's series,
    which that file does not record."""
    raw, _ = _fetch(one_preset_url, "knative", "raw", AT)
    assert _fetch(one_preset_url, "knative", "recorded", AT) == (raw, 1)


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


@pytest.mark.parametrize("preset", PRESETS)
def test_each_recorded_series_is_read_once_per_window(preset: str) -> None:
    """PromQL has no shared subexpressions: every selector is a read of 10,000 series at
    scale. Every counter's deltas are read at once (each is its own series), and the
    newest recorded change once (rounded after the answer, `LastSeen`), not twice."""
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": "http://127.0.0.1:1", "signals": {"requests": preset, "mode": "recorded"}}))
    built = source.queries_for([WINDOW, LOOKBACK], recent=LOOKBACK)
    source.close()
    reads = (built[Query.REQUESTS].count(f"{rules.REQUESTS_DELTA}{{"),
             built[Query.COVERAGE].count(f"{rules.REQUESTS_PRESENT}{{"),
             built[Query.LAST_REQUEST].count(f"{rules.REQUESTS_CHANGED}{{"))
    assert reads == (2, 2, 1)


@pytest.mark.parametrize("preset", PRESETS)
def test_presence_rows_are_aggregated_once_and_moved_pods_relabelled_after_the_count(
        preset: str) -> None:
    """One ``max by`` per presence read (no second one over the union), and the raw pod
    labels of the last minutes get their ``isvc`` label once, on the moved pods only,
    not on every pod for each of the two reads."""
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": "http://127.0.0.1:1", "signals": {"requests": preset, "mode": "recorded"}}))
    text = source.queries_for([WINDOW, LOOKBACK], recent=LOOKBACK)[Query.COVERAGE]
    source.close()
    presence = text.count("count_over_time(reclaimer:requests_present") + \
        text.count("count_over_time(reclaimer:gpu_device_present")
    assert (text.count(f"max by (namespace, isvc, {WINDOW_LABEL})"), presence,
            text.count("label_replace(max_over_time(kube_pod_labels"),
            text.count('"isvc", "$1", "label_serving_kserve_io_inferenceservice"')) == (4, 4, 0, 1)


@pytest.mark.parametrize("preset", PRESETS)
def test_raw_tails_come_back_only_where_they_add_traffic(url: str, preset: str) -> None:
    """A tail at 0 adds nothing to a window's requests or GPU peak (the window's own row
    says the count): idle services send no tail rows, busy ones do."""
    with counting_proxy(url) as (proxy, traffic):
        source = PrometheusSignals(PrometheusSettings.from_mapping(  # one at a time: the
            {"url": proxy, "concurrency": 1,  # answers come back in the order asked
             "signals": {"requests": preset, "mode": "recorded"}}))
        try:
            texts = source.queries_for([WINDOW], recent=LOOKBACK)
            source.fetch_windows(at=AT, windows=[WINDOW], recent=LOOKBACK)
        finally:
            source.close()
    asked = {urllib.parse.parse_qs(urllib.parse.urlsplit(p).query)["query"][0]: json.loads(b)
             for p, b in zip(traffic.paths, traffic.bodies, strict=True)}
    tails, windowed = [], []
    for query in (Query.REQUESTS, Query.GPU_MAX):
        for item in asked[texts[query]]["data"]["result"]:
            into = windowed if WINDOW_LABEL in item["metric"] else tails
            into.append(float(item["value"][1]))
    assert (min(tails) > 0, 0.0 in windowed) == (True, True)


def test_last_seen_rounds_as_the_promql_it_replaces(url: str) -> None:
    """`LastSeen` against Prometheus evaluating the expression it replaced (a step later
    within the recent span, the coarse grid beyond it), for changes every 7 s over the
    horizon, at an instant between two minutes."""
    at = AT + timedelta(seconds=50)
    now = round(at.timestamp(), 3)
    changes = [now - 7 * i for i in range(0, 3660 // 7)]
    newest = " or ".join(f'label_replace(vector({x:.3f}), "i", "{i}", "", "")'
                         for i, x in enumerate(changes))
    near = f"(clamp_max(({newest}) + 60, time()) > time() - 300)"
    far = f"clamp_max(floor((({newest}) + 180) / 120) * 120, time() - 300)"
    query = urllib.parse.urlencode({"query": f"{near} or {far}", "time": f"{now:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=30) as answer:
        result = json.loads(answer.read())["data"]["result"]
    promql = {int(r["metric"]["i"]): float(r["value"][1]) for r in result}
    seen = LastSeen(step=timedelta(minutes=1), recent=LOOKBACK, coarse=timedelta(minutes=2))
    assert {i: seen(x, at=now) for i, x in enumerate(changes)} == promql



def _requests_gap_world() -> tuple[OpenMetrics, ServiceRef]:
    """The scenario world and one knative service, idle, whose GPU data is whole and
    whose request counter has a 10-minute gap in the window (no per-pod shortfall
    catches a name-mapped preset's gap: only its coverage does)."""
    om, _ = world()
    ref = ServiceRef("knative", "requests-gap")
    render(om, ref, Script(data_from=START, request_series=False), Style(), start=START, end=END)
    service = f"{ref.name}-predictor"
    labels = {"namespace_name": ref.namespace, "service_name": service,
              "revision_name": f"{service}-00001", "response_code": "200"}
    at = START
    while at <= END:
        if not AT - timedelta(minutes=20) <= at < AT - timedelta(minutes=10):
            om.add("revision_app_request_count", labels, 0.0, at)
        at += EVERY
    return om, ref


@pytest.fixture(scope="module")
def two_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ServiceRef]]:
    """Every preset's file and the chart's for knative and dcgm in one Prometheus: both
    write knative's and dcgm's presence, the same series, two samples a minute."""
    workdir = tmp_path_factory.mktemp("two-files")
    chart = workdir / "chart-rules.yaml"
    chart.write_text(rules.render_file(requests="knative", gpu="dcgm"))
    om, ref = _requests_gap_world()
    tsdb = backfill(om, workdir)
    end = AT + timedelta(minutes=5)
    backfill_rules(tsdb, workdir, start=RULES_FROM, end=end)
    # Another file, so another phase (Prometheus hashes a group's file and name).
    (workdir / "chart").mkdir()
    backfill_rules(tsdb, workdir / "chart", start=RULES_FROM, end=end, rules=chart)
    with serving(tsdb, workdir) as u:
        yield u, ref


def test_two_rules_files_writing_the_same_series_do_not_double_coverage(
        two_files: tuple[str, ServiceRef]) -> None:
    """A 10-minute request gap in a 30-minute window leaves each file about 25 of 31
    evaluations with data: 50 samples must not read as whole coverage (an idle verdict
    where the raw queries say unknown). The raw answer."""
    url, ref = two_files
    raw, _ = _fetch(url, "knative", "raw", AT)
    recorded, fallbacks = _fetch(url, "knative", "recorded", AT)
    assert (fallbacks, _verdict(recorded[ref]), _verdict(raw[ref])[0]) == (
        1, _verdict(raw[ref]), SignalState.UNKNOWN)


@pytest.fixture(scope="module")
def two_releases_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two releases' rules in one Prometheus: knative and dcgm, kserve-python and dcgm.
    Both write dcgm's device presence, the same series, at two phases."""
    workdir = tmp_path_factory.mktemp("two-releases")
    om, _ = world()
    tsdb = backfill(om, workdir)
    end = AT + timedelta(minutes=5)
    for requests in ("knative", "kserve-python"):
        (workdir / requests).mkdir()
        path = workdir / requests / "rules.yaml"
        path.write_text(rules.render_file(requests=requests, gpu="dcgm"))
        backfill_rules(tsdb, workdir / requests, start=RULES_FROM, end=end, rules=path)
    with serving(tsdb, workdir) as u:
        yield u


def test_two_releases_sharing_the_gpu_preset_fall_back(two_releases_url: str) -> None:
    """The knative release's heartbeat alone matches its presets, but dcgm's series
    hold two samples a minute: the rules do not vouch, the raw answer is used."""
    raw, _ = _fetch(two_releases_url, "knative", "raw", AT)
    assert _fetch(two_releases_url, "knative", "recorded", AT) == (raw, 1)


FAILED_FROM = AT - timedelta(minutes=77)  # rules failing from here (a 2-minute margin)
FAILED_TO = AT - timedelta(minutes=63)  # to here: the copy is in the lookback until -65 m


@pytest.fixture(scope="module")
def failed_rules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """The scenario world with a second copy of one pod's pod map entry from 75 to 70
    minutes before AT (another ruler's, not deduplicated): every rule joining the pod
    map to series it has (the pod-joined presets, GPUs held and GPU devices) fails in
    Prometheus with a many-to-many match while the copy is in the lookback; the group
    goes on, the heartbeat's own query does not fail. Rules backfilled in three spans,
    the failing one on its own (one range query fails whole)."""
    workdir = tmp_path_factory.mktemp("failed-rules")
    om, _ = world()
    ref = ServiceRef("vllm", "steady")
    at = AT - timedelta(minutes=75)
    while at <= AT - timedelta(minutes=70):
        om.add(rules.ISVC_POD, {"namespace": ref.namespace, "pod": pod_of(ref),
                                "isvc": ref.name, "rule_replica": "1"}, 1.0, at)
        at += timedelta(minutes=1)
    tsdb = backfill(om, workdir)
    second = timedelta(seconds=1)
    failed: list[str] = []
    for start, end, errors in ((RULES_FROM, FAILED_FROM - second, None),
                               (FAILED_FROM, FAILED_TO, failed),
                               (FAILED_TO + second, AT + timedelta(minutes=5), None)):
        backfill_rules(tsdb, workdir, start=start, end=end, failed=errors)
    with serving(tsdb, workdir) as u:
        yield u, failed


def test_rules_failing_at_evaluations_make_the_recorded_mode_fall_back(
        failed_rules: tuple[str, list[str]]) -> None:
    """The rules failed for 14 of the window's 31 minutes (Prometheus's own error): the
    heartbeat was written anyway before, and the recorded answer read their missing
    data (every pod-joined service unknown for want of coverage). Now the evaluations
    the failure affects are the raw answer, counted as fallbacks."""
    url, failed = failed_rules
    at = AT - timedelta(minutes=50)
    raw, _ = _fetch(url, "vllm", "raw", at)
    assert (_fetch(url, "vllm", "recorded", at), "many-to-many matching not allowed" in
            "".join(failed)) == ((raw, 1), True)


def test_the_fallback_after_a_failed_rule_is_warned_once_and_counted_every_time(
        failed_rules: tuple[str, list[str]], caplog: pytest.LogCaptureFixture) -> None:
    """Two evaluations of one adapter: one warning (naming a failed rule as a cause),
    two fallbacks counted."""
    url, _ = failed_rules
    fallbacks: list[None] = []
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": url, "signals": {"requests": "vllm", "mode": "recorded"}}),
        on_fallback=lambda: fallbacks.append(None))
    try:
        with caplog.at_level(logging.WARNING, logger="reclaimer.signals"):
            for _ in range(2):
                source.fetch_windows(at=AT - timedelta(minutes=50), windows=[WINDOW],
                                     recent=LOOKBACK)
    finally:
        source.close()
    warned = [r.getMessage() for r in caplog.records if "recording rules" in r.getMessage()]
    assert (len(fallbacks), len(warned), "Evaluating rule failed" in "".join(warned)) == (
        2, 1, True)


def test_the_fallback_after_a_failed_rule_asks_with_the_tenant_header(
        failed_rules: tuple[str, list[str]]) -> None:
    """Through a proxy (Thanos Query, Mimir): the seven recorded queries, then the seven
    raw ones, every one with the configured headers; nothing else is asked."""
    url, _ = failed_rules
    with counting_proxy(url) as (proxy, traffic):
        source = PrometheusSignals(PrometheusSettings.from_mapping(
            {"url": proxy, "headers": {"X-Scope-OrgID": "team-a"},
             "signals": {"requests": "vllm", "mode": "recorded"}}),
            on_fallback=lambda: None)
        try:
            source.fetch_windows(at=AT - timedelta(minutes=50), windows=[WINDOW],
                                 recent=LOOKBACK)
        finally:
            source.close()
    assert (traffic.queries(), len(traffic.paths),
            {h.get("X-Scope-OrgID") for h in traffic.headers}) == (14, 14, {"team-a"})


def test_a_partial_answer_with_the_heartbeat_is_not_read_as_a_failed_rule(
        failed_rules: tuple[str, list[str]]) -> None:
    """A store that did not answer the coverage query (which carries the heartbeat) makes
    every service unknown, as any partial answer does: no fallback on half an answer."""
    url, _ = failed_rules
    partial: list[str] = []
    fallbacks: list[None] = []
    with counting_proxy(url, inject=Injection(("store unavailable",),
                                              when=rules.RULES_EVALUATED)) as (proxy, _):
        source = PrometheusSignals(PrometheusSettings.from_mapping(
            {"url": proxy, "signals": {"requests": "vllm", "mode": "recorded"}}),
            on_partial=partial.append, on_fallback=lambda: fallbacks.append(None))
        try:
            with pytest.raises(PartialAnswer):
                source.fetch_windows(at=AT, windows=[WINDOW], recent=LOOKBACK)
        finally:
            source.close()
    assert (partial, fallbacks) == (["coverage"], [])


@pytest.mark.parametrize("preset", ["vllm", "knative"])
def test_once_the_failure_is_older_than_the_horizon_the_rules_are_used_again(
        failed_rules: tuple[str, list[str]], preset: str) -> None:
    """At AT the failed evaluations (63 minutes back at the newest) are beyond the
    horizon plus a step: the recorded answer, judged as the raw one."""
    url, _ = failed_rules
    raw, _ = _fetch(url, preset, "raw", AT)
    recorded, fallbacks = _fetch(url, preset, "recorded", AT)
    assert (fallbacks, {r: _verdict(s) for r, s in recorded.items()}) == (
        0, {r: _verdict(s) for r, s in raw.items()})


@pytest.fixture(scope="module")
def empty_fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """No ISVC, no pod, no series of any preset: only Prometheus's own ``up``."""
    om = OpenMetrics()
    at = START
    while at <= END:
        om.add("up", {"job": "prometheus", "instance": "localhost:9090"}, 1.0, at)
        at += EVERY
    with running_prometheus_with_rules(om, tmp_path_factory.mktemp("empty-fleet"),
                                       start=RULES_FROM, end=AT + timedelta(minutes=5)) as u:
        yield u


def test_a_healthy_empty_fleet_uses_the_recorded_mode(empty_fleet_url: str) -> None:
    """Rules with nothing to record still write their markers: no service, no fallback."""
    assert _fetch(empty_fleet_url, "knative", "recorded", AT) == ({}, 0)


def test_a_partial_raw_answer_after_the_fallback_is_never_known(
        failed_rules: tuple[str, list[str]]) -> None:
    """Review r-rules5: the evaluation falls back after a failed rule, and the store
    answering the raw queries adds a partial-response warning (Thanos, Mimir): the
    evaluation fails as any partial answer does (every service unknown), never known
    from half the raw answer. Only the raw queries read vLLM's counter over a range."""
    url, _ = failed_rules
    partial: list[str] = []
    fallbacks: list[None] = []
    with counting_proxy(url, inject=Injection(("store unavailable",),
                                              when="vllm:request_success_total[")) as (proxy, _):
        source = PrometheusSignals(PrometheusSettings.from_mapping(
            {"url": proxy, "signals": {"requests": "vllm", "mode": "recorded"}}),
            on_partial=partial.append, on_fallback=lambda: fallbacks.append(None))
        try:
            with pytest.raises(PartialAnswer):
                source.fetch_windows(at=AT - timedelta(minutes=50), windows=[WINDOW],
                                     recent=LOOKBACK)
        finally:
            source.close()
    assert (len(fallbacks), bool(partial)) == (1, True)


V3_RULES = Path(__file__).parent / "rules" / "reclaimer-rules-v3.yaml"  # 8bfa289's file
V3_HEARTBEAT = (f'{rules.RULES_EVALUATED}{{{rules.VERSION_LABEL}=~"2|3", '
                f'{rules.REQUESTS_LABEL}=~"knative|[*]|", {rules.GPU_LABEL}=~"dcgm|[*]|"}}')


@pytest.fixture(scope="module")
def version_3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The previous release's rules file as it shipped (no markers, heartbeat 3)."""
    om, _ = world()
    with running_prometheus_with_rules(om, tmp_path_factory.mktemp("v3"), start=RULES_FROM,
                                       end=AT + timedelta(minutes=5), rules=V3_RULES) as u:
        yield u


@pytest.mark.parametrize("preset", PRESETS)
def test_the_shipped_version_3_file_is_read_as_the_raw_answer_judges(
        version_3_url: str, preset: str) -> None:
    """Review r-rules5: its series have no marker label, which ``reclaimer_marker=""``
    matches; no fallback, every service judged as the raw queries judge it."""
    raw, _ = _fetch(version_3_url, preset, "raw", AT)
    recorded, fallbacks = _fetch(version_3_url, preset, "recorded", AT)
    assert (fallbacks, {r: _verdict(s) for r, s in recorded.items()}) == (
        0, {r: _verdict(s) for r, s in raw.items()})


def test_the_previous_releases_reader_finds_no_heartbeat_in_a_version_4_file(url: str) -> None:
    """Review r-rules5: 8bfa289's reader asks for versions 2 and 3 (`V3_HEARTBEAT`):
    nothing in a version-4 file, so it falls back rather than count markers as data."""
    query = urllib.parse.urlencode({"query": f"count_over_time({V3_HEARTBEAT}[2h])",
                                    "time": AT.timestamp()})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as answer:
        result = json.loads(answer.read())["data"]["result"]
    current = urllib.parse.urlencode({"query": f"count_over_time({rules.RULES_EVALUATED}[2h])",
                                      "time": AT.timestamp()})
    with urllib.request.urlopen(f"{url}/api/v1/query?{current}", timeout=10) as answer:
        beats = json.loads(answer.read())["data"]["result"]
    assert (result, len(beats)) == ([], 1)
