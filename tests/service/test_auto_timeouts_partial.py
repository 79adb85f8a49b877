"""``idle.after: auto`` learns only from history it saw whole (real Prometheus 2.42).

Two pods of one ISVC (kserve-python requests, read per pod; dcgm-exporter GPUs) share
its traffic: a request every 100 minutes, served in turn by pod A and pod B, so every
idle gap is 99 minutes, and the rule's p99 + 10 % is 109 minutes. When pod B's request
series goes unseen (its metrics target down) or its whole scrape is missing, pod A's
data alone shows gaps of 199 minutes: all beyond ``autoMax`` (2 h), "isolated use", and
the old learner picked ``autoMin`` (10 m), stopping the service 10 minutes after a
request when the next comes 99 minutes later. Steps where a pod that held a GPU has no
request or GPU series are unknown, as the live signals judge them (docs/signals.md), a
gap touching them is none, and too little observed history is ``autoMax``. A span
where the service had no pod at all (stopped) is neither an idle gap nor evidence
against learning: the gaps around it are learned as if it were not there.
"""

from __future__ import annotations

import subprocess
from collections.abc import Container, Iterable, Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from reclaimer.model import AutoIdle, ServiceRef
from reclaimer.policy.auto_idle import MIN_OBSERVED, choose_timeout
from reclaimer.service.auto_timeouts import PrometheusBusy, _choice
from reclaimer.signals.presets import REQUEST_PRESETS
from reclaimer.signals.ranges import gaps
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import PROMETHEUS, PROMTOOL, OpenMetrics, serving

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

BEGIN = datetime(2026, 11, 2, tzinfo=UTC)
MINUTES = 3 * 24 * 60 + 30
NS = "team-partial"
AUTO = AutoIdle(learn_from=timedelta(days=3))
ISVC_LABEL = "label_serving_kserve_io_inferenceservice"
EVERY = 100  # minutes between requests, alternating pods
STOPPED_FROM, STOPPED_TO = 24 * 60 + 30, 36 * 60 + 30  # minutes: 12 h without pods


def _pod(name: str, which: str) -> str:
    return f"{name}-predictor-{which}"


def _add_pod(om: OpenMetrics, name: str, which: str, *, minutes: Iterable[int],
             requests_seen: bool, gpu_seen: bool, requests_down: Container[int] = (),
             phase: str = "Running") -> None:
    pod = _pod(name, which)
    target = {"namespace": NS, "pod": pod}
    served = [m for m in range(0, MINUTES, EVERY) if (m // EVERY) % 2 == (which == "b")]
    for minute in minutes:
        at = BEGIN + timedelta(minutes=minute)
        om.add("kube_pod_labels", {**target, ISVC_LABEL: name, "uid": f"u-{pod}"}, 1, at)
        om.add("kube_pod_status_phase", {**target, "phase": phase}, 1, at)
        om.add("kube_pod_container_resource_requests",
               {**target, "container": "kserve-container", "resource": "nvidia_com_gpu",
                "unit": "integer"}, 1, at)
        if gpu_seen:
            om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "container": "kserve-container",
                                            "gpu": "0", "UUID": f"GPU-{pod}"}, 0.0, at)
        if requests_seen and minute not in requests_down:
            count = sum(1 for m in served if m <= minute)
            om.add("request_predict_seconds_count", {**target, "model_name": "m"},
                   float(count), at)


def _services(om: OpenMetrics) -> None:
    whole = range(MINUTES)
    for name, b_requests, b_gpu in (("whole", True, True), ("requests-unseen", False, True),
                                    ("pod-unscraped", False, False)):
        _add_pod(om, name, "a", minutes=whole, requests_seen=True, gpu_seen=True)
        _add_pod(om, name, "b", minutes=whole, requests_seen=b_requests, gpu_seen=b_gpu)
    _add_pod(om, "unseen-12h", "a", minutes=whole, requests_seen=True, gpu_seen=True)
    _add_pod(om, "unseen-12h", "b", minutes=whole, requests_seen=True, gpu_seen=True,
             requests_down=range(STOPPED_FROM, STOPPED_TO))
    # pod B's request target flaps: down 15 minutes of every hour. Every 99-minute
    # gap touches a blip (dropped) while 80 % of the steps are complete: the gaps
    # left, none, said "fallback" (30 m) where the whole history says 109 m.
    _add_pod(om, "flapping", "a", minutes=whole, requests_seen=True, gpu_seen=True)
    _add_pod(om, "flapping", "b", minutes=whole, requests_seen=True, gpu_seen=True,
             requests_down=frozenset(m for m in range(MINUTES) if m % 60 >= 45))
    # stopped by its own 30-minute timeout 30 minutes after each request, started
    # again (on demand) two minutes before the next: every 99-minute gap reaches a
    # stop. Dropping those gaps left one (fallback, 30 m): a learned timeout could
    # never grow past the one that stops the service, only shrink. Here each stop
    # begins with minutes of unknown (the pods' series linger 5 m by Prometheus'
    # lookback, their requests stale past maxSampleAge 2 m): those are the stop's
    # edges, not unknown, so the gaps through the stops count whole, as "whole" (109 m)
    for which in ("a", "b"):
        _add_pod(om, "stopped-by-timeout", which, requests_seen=True, gpu_seen=True,
                 minutes=[m for m in range(MINUTES) if m % EVERY < 30 or m % EVERY >= 98])
    # pod B never ran (Pending: no GPU of its own yet): it holds none, so its missing
    # series are no shortfall, as the live check counts it; pod A's gaps are real.
    _add_pod(om, "b-pending", "a", minutes=whole, requests_seen=True, gpu_seen=True)
    _add_pod(om, "b-pending", "b", minutes=whole, requests_seen=False, gpu_seen=False,
             phase="Pending")
    for which in ("a", "b"):  # created after two days: those are no evidence against it
        _add_pod(om, "new-1d", which, minutes=range(49 * 60, MINUTES), requests_seen=True,
                 gpu_seen=True)
    for which in ("a", "b"):  # stopped for 12 h: no pod at all, no series
        for start, stop in ((0, STOPPED_FROM), (STOPPED_TO, MINUTES)):
            _add_pod(om, "stopped-12h", which, minutes=range(start, stop),
                     requests_seen=True, gpu_seen=True)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PROMETHEUS.exists() or not PROMTOOL.exists():
        pytest.skip("REAL PROMETHEUS MISSING: /usr/bin/prometheus or /usr/bin/promtool absent")
    workdir = tmp_path_factory.mktemp("partial-prometheus")
    om = OpenMetrics()
    _services(om)
    (workdir / "history.om").write_text(om.text())
    subprocess.run([str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(workdir / "history.om"), str(workdir / "data")], check=True,
                   capture_output=True)
    with serving(workdir / "data", workdir) as url:
        yield url


@pytest.mark.parametrize(("name", "after", "why", "found"), [
    pytest.param("whole", timedelta(minutes=109), "p99", 42, id="both-pods-seen-109m"),
    pytest.param("requests-unseen", AUTO.auto_max, "complete for 0%", 0,
                 id="pod-b-requests-unseen-autoMax-not-autoMin"),
    pytest.param("pod-unscraped", AUTO.auto_max, "complete for 0%", 0,
                 id="pod-b-unscraped-autoMax-not-autoMin"),
    pytest.param("unseen-12h", timedelta(minutes=109), "p99", 35,
                 id="pod-b-requests-unseen-12h-of-72h-those-gaps-dropped"),
    pytest.param("flapping", AUTO.auto_max, "complete for", 0,
                 id="pod-b-flapping-every-gap-dropped-autoMax-not-fallback"),
    pytest.param("stopped-by-timeout", timedelta(minutes=109), "p99", 43,
                 id="gaps-through-its-own-stops-and-their-edges-count-whole"),
    pytest.param("b-pending", AUTO.auto_min, "isolated use", 20,
                 id="pod-b-pending-holds-no-gpu-its-silence-no-shortfall"),
    pytest.param("new-1d", timedelta(minutes=109), "p99", 14,
                 id="created-after-2-days-learns-from-its-last-day"),
    pytest.param("stopped-12h", timedelta(minutes=109), "p99", 36,
                 id="a-stopped-span-counts-in-its-gap-never-unknown"),
])
def test_partial_history_never_shortens_the_learned_timeout(
        prometheus: str, name: str, after: timedelta, why: str, found: int) -> None:
    """Gaps learned: 42 over 72 h with both pods seen; 35 where 12 h are unseen (the
    gaps touching them dropped, 84 % observed); 36 where 12 h are stopped (no pod;
    100 % observed; one gap through the stop, longer than autoMax)."""
    settings = PrometheusSettings(url=prometheus, timeout=timedelta(seconds=30),
                                  requests=REQUEST_PRESETS["kserve-python"])
    ref = ServiceRef(NS, name)
    at = BEGIN + timedelta(minutes=MINUTES - 10)
    states = PrometheusBusy(settings).read({ref: 5.0}, at=at, learn_from=AUTO.learn_from)[ref]
    choice = _choice(states, AUTO)
    assert (choice.after, why in choice.reason, choice.gaps) == (after, True, found), choice


def test_gaps_end_at_unknown_and_stopped_steps() -> None:
    """A run of idle steps counts only between two busy steps: one that reaches an
    unknown step might have held an unseen request; a stopped span between counts in
    (the next request came that much later). Stopped steps are left out of the share
    observed."""
    b, i, u, s = gaps.BUSY, gaps.IDLE, gaps.UNKNOWN, gaps.STOPPED
    states = np.array([b, i, i, b, i, u, i, b, i, s, s, b, i, i, i, b], dtype=np.int8)
    assert gaps.gaps_of(states, 60.0) == [120.0, 180.0, 180.0]
    # 13 of 14 running steps complete, but only 6 of the 9 running steps between busy
    # ones lie in gaps without an unknown step: the lesser counts
    assert gaps.observed(states) == pytest.approx(6 / 9)
    assert gaps.observed(np.array([s, s], dtype=np.int8)) == 0.0


def test_too_little_observed_history_is_automax_whatever_the_gaps() -> None:
    found = [99 * 60.0] * 40
    assert choose_timeout(found, AUTO).after == timedelta(minutes=109)
    assert choose_timeout(found, AUTO, observed=0.49).after == AUTO.auto_max


def test_a_timeout_that_stops_the_service_does_not_teach_itself_shorter() -> None:
    """Gaps of 5 minutes, one in 20 of 99 minutes; the service was stopped 30 minutes
    into each long gap (its timeout then) and started by the next request, with no
    unknown step at the stop. The gaps through those stops are 99 minutes of use:
    109 m, as if it had never been stopped (dropping them learned autoMin, 10 m)."""
    b, i, s = gaps.BUSY, gaps.IDLE, gaps.STOPPED
    found: list[int] = []
    for n in range(300):
        found += [b] + ([i] * 30 + [s] * 66 + [i] * 3 if n % 20 == 19 else [i] * 5)
    states = np.array(found[:4320], dtype=np.int8)
    whole = np.where(states == s, i, states).astype(np.int8)
    assert _choice(whole, AUTO).after == timedelta(minutes=109)
    assert _choice(states, AUTO).after == timedelta(minutes=109)


def test_a_stop_edged_with_unknown_steps_does_not_teach_a_shorter_timeout() -> None:
    """As above, but each stop begins with 3 unknown steps (the pods' series linger by
    Prometheus' lookback, their requests already stale) and ends with 2 (the new pod
    loading, no request series yet): what a real stop and start look like. Those
    unknown steps are the stop's edges, no place a request could hide: the gaps
    through the stops still count whole (109 m). Censoring them left only the
    5-minute gaps, with 73 % of the idle time observed: autoMin, 10 m, which stops
    the service in every long gap and so teaches itself again."""
    b, i, u, s = gaps.BUSY, gaps.IDLE, gaps.UNKNOWN, gaps.STOPPED
    found: list[int] = []
    for n in range(300):
        long = [i] * 30 + [u] * 3 + [s] * 61 + [u] * 2 + [i] * 3
        found += [b] + (long if n % 20 == 19 else [i] * 5)
    states = np.array(found[:4320], dtype=np.int8)
    whole = np.where((states == s) | (states == u), i, states).astype(np.int8)
    assert _choice(whole, AUTO).after == timedelta(minutes=109)
    assert _choice(states, AUTO).after == timedelta(minutes=109)


def test_a_long_unknown_run_beside_a_stop_stays_unknown() -> None:
    """Only a stop's edges (at most `STOP_EDGE` steps) join it: a target down for an
    hour after a start still censors its gap and counts against the share."""
    b, i, u, s = gaps.BUSY, gaps.IDLE, gaps.UNKNOWN, gaps.STOPPED
    edged = np.array([b, i, u, s, s, u, u, i, b], dtype=np.int8)
    assert (gaps.gaps_of(edged, 60.0), gaps.observed(edged)) == ([420.0], 1.0)
    long = np.array([b, i, s, *[u] * (gaps.STOP_EDGE + 1), i, b], dtype=np.int8)
    assert gaps.gaps_of(long, 60.0) == []
    assert gaps.observed(long) < MIN_OBSERVED
