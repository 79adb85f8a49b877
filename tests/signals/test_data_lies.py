"""Adversarial layouts of partial and late data (SAFETY.md "The data lies").

Real Prometheus 2.42, promtool backfill, scrapes every 30 s, kube-state-metrics with
``kube_pod_status_phase`` for every pod (as it exports it).

- ``evicted-busy``: pod B served at 90 % GPU until its node's exporters stopped 35
  minutes ago, and was evicted (``Failed``) 2 minutes ago. It held a GPU for 28 minutes
  of the window without data: a pod terminal *now* did not hold nothing *then*.
- ``ksm-only``: kube-state-metrics lists a running GPU pod no other series mentions.
- ``twin`` in two namespaces, same pod names: one namespace's unscraped pod does not
  borrow the other's data.
Every test runs in both signal modes (``raw`` and ``recorded``, the shipped recording
rules backfilled with promtool over the same data) and expects the same answer.

- ``late``: a request 25 s before a tick that falls between two resolution steps (the
  loop ticks at whatever second its clock says); no step of the subquery has seen it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import yaml

from reclaimer.model import IdleRule, ServiceRef, Signals, SignalState
from reclaimer.policy.idle import Verdict, judge_busy_at_stop, judge_idle, judge_traffic
from reclaimer.signals import rules
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics, running_prometheus_with_rules
from tests.policy.decide_builders import idle_only, svc
from tests.signals.render import ISVC_LABEL
from tests.signals.scenarios import AT, WINDOW

pytestmark = pytest.mark.integration
EVERY = timedelta(seconds=30)
START = AT - timedelta(hours=2)
LOOKBACK = timedelta(minutes=5)
# A tick 50 s after a whole minute; the late request is scraped 20 s before it.
LATE_AT = AT + timedelta(seconds=50)
LATE_REQUEST = AT + timedelta(seconds=30)
# Every fixture is asked in both modes, on one Prometheus holding the rules' series too;
# evaluated 17 s past each minute (a live rule group's phase is arbitrary).
MODES = [pytest.param("raw", id="raw"), pytest.param("recorded", id="recorded")]
RULES_FROM = START + timedelta(minutes=6, seconds=17)
RULES_TO = LATE_AT + timedelta(minutes=2)


@dataclass(frozen=True)
class Pod:
    name: str
    busy: bool = False
    scraped_until: datetime = AT
    running_until: datetime | None = None  # then Failed (evicted); None: running throughout
    series: bool = True  # any series besides kube-state-metrics'
    resource: str = "nvidia_com_gpu"
    isvc_before: tuple[str, datetime] | None = None  # (ISVC label, until when)
    running_at: tuple[datetime, ...] = ()  # vLLM: a request running at these scrapes only
    gpus: int = 1  # requested; GPU series exist for GPU 0 only
    dcgm_jobs: tuple[str, ...] = ("dcgm",)  # scrape jobs reading the same exporter
    listed: bool = True  # by kube-state-metrics (False: its shard is down)
    stuck_replica: str | None = None  # a second kube-state-metrics stuck at this phase
    requests_at: tuple[datetime, ...] = ()
    until: datetime = AT
    requests_gap: tuple[datetime, datetime] | None = None  # no request series in [from, to)


ISVCS: dict[tuple[str, str], tuple[Pod, ...]] = {
    ("ml", "evicted-busy"): (
        Pod("evicted-busy-predictor-a"),
        Pod("evicted-busy-predictor-b", busy=True, scraped_until=AT - timedelta(minutes=35),
            running_until=AT - timedelta(minutes=2))),
    ("ml", "ksm-only"): (Pod("ksm-only-predictor-a"),
                         Pod("ksm-only-predictor-c", series=False)),
    ("ml", "twin"): (Pod("twin-predictor-a"),
                     Pod("twin-predictor-b", busy=True,
                         scraped_until=AT - timedelta(minutes=35))),
    ("other", "twin"): (Pod("twin-predictor-a"), Pod("twin-predictor-b")),
    ("ml", "shared"): (
        Pod("shared-predictor-a", resource="nvidia_com_gpu_shared"),
        Pod("shared-predictor-b", busy=True, resource="nvidia_com_gpu_shared",
            scraped_until=AT - timedelta(minutes=35))),
    ("ml", "doubled"): (Pod("doubled-predictor-a", gpus=2, dcgm_jobs=("dcgm", "gpu-operator")),),
    ("ml", "silent"): (
        Pod("silent-predictor-a", until=LATE_AT, scraped_until=LATE_AT),
        Pod("silent-predictor-b", until=LATE_AT, scraped_until=AT - timedelta(seconds=270))),
    ("ml", "unlisted"): (Pod("unlisted-predictor-a"),
                         Pod("unlisted-predictor-b", busy=True, listed=False)),
    ("ml", "stuck-replica"): (
        Pod("stuck-replica-predictor-a"),
        Pod("stuck-replica-predictor-b", busy=True, scraped_until=AT - timedelta(minutes=35),
            stuck_replica="Pending")),
    ("ml", "late"): (Pod("late-predictor-a", until=LATE_AT, scraped_until=LATE_AT,
                         requests_at=(AT - timedelta(minutes=20), LATE_REQUEST)),),
    ("ml", "late-vllm"): (Pod("late-vllm-predictor-a", until=LATE_AT, scraped_until=LATE_AT,
                              running_at=(LATE_REQUEST,)),),
}
# Its own Prometheus: a pod relabelled by hand from one ISVC to another, and a bystander.
# ``just-moved`` moves 30 s before the tick, after the rules' last evaluation (43 s
# before it): only the recorded mode's raw look at the last minutes can see it.
MOVED: dict[tuple[str, str], tuple[Pod, ...]] = {
    ("ml", "moved-to"): (
        Pod("moved-predictor-a", isvc_before=("moved-from", AT - timedelta(minutes=10))),),
    ("ml", "just-moved-to"): (
        Pod("just-moved-predictor-a",
            isvc_before=("just-moved-from", AT - timedelta(seconds=30))),),
    ("ml", "bystander"): (Pod("bystander-predictor-a"),),
}


# Its own Prometheus: every request series of the cluster (one two-pod ISVC) gone for
# 8 minutes of the window, a pod-joined preset vanishing cluster-wide for some steps.
VANISH_GAP = (AT - timedelta(minutes=20), AT - timedelta(minutes=12))
VANISH: dict[tuple[str, str], tuple[Pod, ...]] = {
    ("ml", "vanish"): (Pod("vanish-predictor-a", requests_gap=VANISH_GAP),
                       Pod("vanish-predictor-b", requests_gap=VANISH_GAP)),
}


def _phase(om: OpenMetrics, target: dict[str, str], pod: Pod, at: datetime) -> None:
    now = "Running" if pod.running_until is None or at < pod.running_until else "Failed"
    for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
        om.add("kube_pod_status_phase", {**target, "phase": phase}, int(phase == now), at)
        if pod.stuck_replica is not None:
            om.add("kube_pod_status_phase", {**target, "phase": phase, "instance": "ksm-2"},
                   int(phase == pod.stuck_replica), at)


def _scrape(om: OpenMetrics, ref: tuple[str, str], pod: Pod, at: datetime, step: int) -> None:
    namespace, isvc = ref
    target = {"namespace": namespace, "pod": pod.name}
    if pod.isvc_before is not None and at < pod.isvc_before[1]:
        isvc = pod.isvc_before[0]  # relabelled by hand: the pod moved between ISVCs
    if pod.listed:
        om.add("kube_pod_labels", {**target, ISVC_LABEL: isvc}, 1, at)
        om.add("kube_pod_container_resource_requests",
               {**target, "container": "kserve-container", "resource": pod.resource,
                "unit": "integer"}, pod.gpus, at)
        _phase(om, target, pod, at)
    if at > pod.scraped_until or not pod.series:
        return
    gap = pod.requests_gap
    if gap is not None and gap[0] <= at < gap[1]:
        _gpu_series(om, target, pod, at)
        return
    count = 20 * step if pod.busy else sum(1 for r in pod.requests_at if r <= at)
    om.add("request_predict_seconds_count", {**target, "model_name": "m"}, count, at)
    om.add("revision_app_request_count",
           {**target, "namespace_name": namespace, "service_name": f"{isvc}-predictor",
            "pod_name": pod.name, "response_code": "200"}, count, at)
    om.add("vllm:request_success_total", {**target, "model_name": "m"}, count, at)
    om.add("vllm:num_requests_running", {**target, "model_name": "m"},
           int(at in pod.running_at), at)
    om.add("vllm:num_requests_waiting", {**target, "model_name": "m"}, 0, at)
    _gpu_series(om, target, pod, at)


def _gpu_series(om: OpenMetrics, target: dict[str, str], pod: Pod, at: datetime) -> None:
    for job in pod.dcgm_jobs:
        om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "gpu": "0", "job": job,
                                        "UUID": f"GPU-{target['namespace']}-{pod.name}",
                                        "container": "kserve-container"},
               90.0 if pod.busy else 0.0, at)


def _world(isvcs: dict[tuple[str, str], tuple[Pod, ...]]) -> OpenMetrics:
    om = OpenMetrics()
    for ref, pods in isvcs.items():
        for pod in pods:
            at, step = START, 0
            while at <= pod.until:
                _scrape(om, ref, pod, at, step)
                at, step = at + EVERY, step + 1
    return om


@dataclass(frozen=True)
class Target:
    """A Prometheus holding a world and the shipped rules' series, and the mode to ask."""

    url: str
    mode: str


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(running_prometheus_with_rules(
            _world(isvcs), tmp_path_factory.mktemp("prometheus"), start=RULES_FROM,
            end=RULES_TO)) for name, isvcs in (("main", ISVCS), ("moved", MOVED),
                                               ("vanish", VANISH))}


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(worlds: dict[str, str], mode: str) -> Target:
    return Target(worlds["main"], mode)


@pytest.fixture
def moved_url(worlds: dict[str, str], mode: str) -> Target:
    return Target(worlds["moved"], mode)


def _fetch(target: Target, ref: ServiceRef, *, preset: str = "knative", at: datetime = AT,
           window: timedelta = WINDOW) -> Signals:
    """One evaluation in ``target.mode``; the recorded mode must not have fallen back."""
    settings = PrometheusSettings.from_mapping(
        {"url": target.url, "signals": {"requests": preset, "mode": target.mode}})
    fallbacks: list[None] = []
    source = PrometheusSignals(settings, on_fallback=lambda: fallbacks.append(None))
    try:
        got = source.fetch_windows(at=at, windows=[window], recent=LOOKBACK)[window][ref]
    finally:
        source.close()
    assert fallbacks == []
    return got


PRESETS = [pytest.param("knative", id="requests-by-name"),
           pytest.param("kserve-python", id="requests-by-pod")]


@pytest.mark.parametrize("preset", PRESETS)
def test_pod_evicted_after_its_scrapes_stopped_still_had_to_be_covered(url: Target,
                                                                       preset: str) -> None:
    got = _fetch(url, ServiceRef("ml", "evicted-busy"), preset=preset)
    assert (got.state, "pod evicted-busy-predictor-b" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


def test_time_sliced_gpu_resource_pod_unscraped_is_unknown(url: Target) -> None:
    got = _fetch(url, ServiceRef("ml", "shared"))
    assert (got.state, "pod shared-predictor-b: no GPU data" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


def test_pod_moved_between_isvcs_does_not_blind_every_other_service(moved_url: Target) -> None:
    assert _fetch(moved_url, ServiceRef("ml", "bystander")).state is SignalState.KNOWN


@pytest.mark.parametrize(("name", "pod"), [
    ("moved-from", "moved-predictor-a"), ("moved-to", "moved-predictor-a"),
    ("just-moved-from", "just-moved-predictor-a"), ("just-moved-to", "just-moved-predictor-a")])
def test_pod_moved_between_isvcs_makes_both_unknown(moved_url: Target, name: str,
                                                    pod: str) -> None:
    got = _fetch(moved_url, ServiceRef("ml", name))
    assert (got.state, f"pod {pod}: labelled for more than one ISVC" in (
        got.reason or "")) == (SignalState.UNKNOWN, True)


def test_gpu_scraped_twice_does_not_stand_for_a_gpu_never_seen(url: Target) -> None:
    got = _fetch(url, ServiceRef("ml", "doubled"))
    assert (got.state, "pod doubled-predictor-a: no GPU data" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


def test_gpu_pod_silent_for_over_5_minutes_at_an_unaligned_tick_is_unknown(url: Target) -> None:
    """Its last sample (5 m 20 s old) is beyond the instant lookback, yet the last step
    (12:00, 50 s before the tick) still sees it: every step is covered."""
    got = _fetch(url, ServiceRef("ml", "silent"), at=LATE_AT)
    assert (got.state, "pod silent-predictor-b" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


def test_one_kube_state_metrics_replica_stuck_at_pending_does_not_excuse_a_running_pod(
        url: Target) -> None:
    got = _fetch(url, ServiceRef("ml", "stuck-replica"))
    assert (got.state, "pod stuck-replica-predictor-b: no GPU data" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


def test_running_gpu_pod_known_only_to_kube_state_metrics_is_unknown(url: Target) -> None:
    got = _fetch(url, ServiceRef("ml", "ksm-only"))
    assert (got.state, "pod ksm-only-predictor-c: no GPU data" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


@pytest.mark.parametrize(("namespace", "state"), [
    pytest.param("ml", SignalState.UNKNOWN, id="namespace-with-the-unscraped-pod"),
    pytest.param("other", SignalState.KNOWN, id="namespace-with-both-pods-scraped"),
])
def test_same_isvc_and_pod_names_in_two_namespaces_are_judged_apart(
        url: Target, namespace: str, state: SignalState) -> None:
    assert _fetch(url, ServiceRef(namespace, "twin")).state is state


def test_a_pod_joined_preset_with_no_series_anywhere_leaves_a_gpu_service_unknown(
        url: Target) -> None:
    """Triton is configured, but no Triton series exists (the preset is not what the
    cluster runs, or its scrapes are all gone): the rules record no per-pod shortfall
    for it, and the service is unknown for want of any request data, not idle."""
    got = _fetch(url, ServiceRef("other", "twin"), preset="triton")
    assert (got.state, got.requests) == (SignalState.UNKNOWN, None)


@pytest.mark.parametrize("preset", PRESETS)
def test_request_after_the_last_resolution_step_is_seen_at_an_unaligned_tick(
        url: Target, preset: str) -> None:
    got = _fetch(url, ServiceRef("ml", "late"), preset=preset, at=LATE_AT)
    since = got.seconds_since_last_request
    assert (got.state, since is not None and since <= 60) == (SignalState.KNOWN, True)


@pytest.mark.parametrize("judge", ["idle", "busy-at-stop"])
def test_gpu_pod_missing_from_kube_state_metrics_but_seen_by_the_api_is_unknown(
        url: Target, judge: str) -> None:
    """A kube-state-metrics shard is down: pod B (busy) is in no series that names its
    ISVC, so only pod A's flat data is joined; the API's pods say the service holds 2 GPUs."""
    ref = ServiceRef("ml", "unlisted")
    got = _fetch(url, ref, preset="kserve-python")
    service = svc("unlisted", ref=ref, gpus=2)
    if judge == "idle":
        verdict = judge_idle(IdleRule(after=WINDOW), got, service=service, now=AT,
                             lookback=LOOKBACK)
    else:
        verdict = judge_busy_at_stop(idle_only(), got, service=service, lookback=LOOKBACK,
                                     now=AT)
    assert (verdict.verdict, "kube-state-metrics" in verdict.reason) == (Verdict.UNKNOWN, True)


def test_request_in_flight_after_the_last_resolution_step_is_seen_at_an_unaligned_tick(
        url: Target) -> None:
    got = _fetch(url, ServiceRef("ml", "late-vllm"), preset="vllm", at=LATE_AT)
    since = got.seconds_since_last_request
    assert (got.state, since is not None and since <= 60) == (SignalState.KNOWN, True)


def test_request_after_the_last_resolution_step_blocks_the_idle_stop(url: Target) -> None:
    got = _fetch(url, ServiceRef("ml", "late"), at=LATE_AT)
    rule = IdleRule(after=WINDOW, max_requests=5)
    service = svc("late", ref=ServiceRef("ml", "late"))
    verdict = judge_idle(rule, got, service=service, now=LATE_AT, lookback=LOOKBACK)
    assert verdict.verdict is Verdict.BUSY


def test_request_after_the_last_resolution_step_defers_a_schedule_stop(url: Target) -> None:
    got = _fetch(url, ServiceRef("ml", "late"), at=LATE_AT)
    verdict = judge_traffic(got, lookback=LOOKBACK, now=LATE_AT, gpus=1)
    assert verdict.verdict is Verdict.BUSY


@pytest.fixture(scope="module")
def blind_ruler_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shipped rules evaluated by a ruler whose queries do not see what its group
    wrote earlier in the same evaluation (Thanos Rule in stateless mode: its samples
    leave through the remote-write queue, its queries go through a querier)."""
    with running_prometheus_with_rules(_world(ISVCS), tmp_path_factory.mktemp("blind"),
                                       start=RULES_FROM, end=RULES_TO, split=False) as u:
        yield u


@pytest.mark.parametrize("preset", PRESETS)
def test_a_ruler_that_cannot_read_its_own_group_never_makes_an_unscraped_pod_covered(
        blind_ruler_url: str, preset: str) -> None:
    """The per-pod shortfalls read the GPUs held and the presence written earlier in
    their group: where those writes are not readable they record nothing, and pod B
    of ``evicted-busy`` (busy, unscraped for 28 minutes of the window, evicted since)
    would vanish behind pod A's idle data. The rules must not vouch for such an
    evaluation: the raw answer, unknown."""
    ref = ServiceRef("ml", "evicted-busy")
    settings = PrometheusSettings.from_mapping(
        {"url": blind_ruler_url, "signals": {"requests": preset, "mode": "recorded"}})
    fallbacks: list[None] = []
    source = PrometheusSignals(settings, on_fallback=lambda: fallbacks.append(None))
    try:
        got = source.fetch_windows(at=AT, windows=[WINDOW], recent=LOOKBACK)[WINDOW][ref]
    finally:
        source.close()
    assert (got.state, len(fallbacks)) == (SignalState.UNKNOWN, 1)


@pytest.mark.parametrize("preset", ["kserve-python", "vllm"])
def test_a_pod_joined_preset_gone_cluster_wide_for_some_steps_is_unknown(
        worlds: dict[str, str], mode: str, preset: str) -> None:
    """No per-pod request shortfall is recorded while the preset has no series anywhere
    (`rules._requests_short`): then no pod has presence either, so the service's
    own coverage shows those steps missing. Both idle pods: unknown, never idle."""
    got = _fetch(Target(worlds["vanish"], mode), ServiceRef("ml", "vanish"), preset=preset)
    assert (got.state, got.requests) == (SignalState.UNKNOWN, None)


@pytest.fixture(scope="module")
def held_failed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shipped rules, the GPUs-held rule writing nothing for 8 evaluations in the
    window, its marker included, as a failed rule (Prometheus writes nothing for it, not
    even stale markers, so the shortfall rules read its last sample while it is under 5
    minutes old)."""
    workdir = tmp_path_factory.mktemp("held-failed")
    begin, end = (t.timestamp() for t in (AT - timedelta(minutes=20), AT - timedelta(minutes=12)))
    groups = rules.rule_groups()
    for group in groups["groups"]:
        for rule in group["rules"]:
            if rule["record"] == rules.POD_GPUS_HELD:
                rule["expr"] = (f"({rule['expr']}) unless on () "
                                f"(vector(time()) >= {begin:.0f} < {end:.0f})")
    path = workdir / "rules-held-failing.yaml"
    path.write_text(yaml.safe_dump(groups, sort_keys=False, width=10_000))
    with running_prometheus_with_rules(_world(ISVCS), workdir, start=RULES_FROM, end=RULES_TO,
                                       rules=path) as u:
        yield u


@pytest.mark.parametrize("preset", PRESETS)
def test_a_failed_gpus_held_rule_does_not_hide_an_unscraped_pod(
        held_failed_url: str, preset: str) -> None:
    """The shortfalls read a GPUs-held sample up to 5 minutes old, then none for 3
    evaluations; pod B of ``evicted-busy`` was short for the other 25 minutes. The
    failed rule wrote no marker, so those 8 evaluations have no heartbeat: the raw
    answer, unknown (before version 4 the recorded one, unknown by its shortfalls)."""
    settings = PrometheusSettings.from_mapping(
        {"url": held_failed_url, "signals": {"requests": preset, "mode": "recorded"}})
    fallbacks: list[None] = []
    source = PrometheusSignals(settings, on_fallback=lambda: fallbacks.append(None))
    try:
        got = source.fetch_windows(at=AT, windows=[WINDOW], recent=LOOKBACK)[WINDOW][
            ServiceRef("ml", "evicted-busy")]
    finally:
        source.close()
    assert (got.state, len(fallbacks)) == (SignalState.UNKNOWN, 1)
