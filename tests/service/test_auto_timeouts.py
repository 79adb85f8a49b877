"""``idle.after: auto`` in the service, against a real Prometheus (promtool backfill).

Traces, per minute over 74 h from `BEGIN`: ``regular`` is asked once every 16 minutes
(idle gaps of 15 m) until `QUIET`, then nothing; ``random`` has gaps drawn from 1 to
119 minutes (no pattern: enough of them to fill the histogram). Learned over 3 days:
``regular`` gets p99 15 m + 10 % = 17 m and is stopped 17 minutes after its last
request; ``random`` gets the fallback (30 m); Prometheus unreachable gives ``autoMax``
(2 h) to both, so nothing stops at 18 m.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import requests

from benchmarks.traces import Trace, write_openmetrics
from reclaimer.model import (
    AutoIdle,
    DecideSettings,
    DeploymentMode,
    IdleRule,
    LedgerView,
    Policy,
    Reason,
    Service,
    ServiceRef,
    ServiceState,
)
from reclaimer.policy.auto_idle import choose_timeout
from reclaimer.policy.decide import decide
from reclaimer.policy.idle import busy_gpu_threshold
from reclaimer.policy.matching import governed
from reclaimer.service.auto_timeouts import AutoTimeouts, PrometheusBusy
from reclaimer.service.observe import gather_signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.ranges.fetch import read_history
from reclaimer.signals.ranges.gaps import gaps_of, observed, states_before
from reclaimer.signals.ranges.history import Grid
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import PROMETHEUS, PROMTOOL, serving

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BEGIN = datetime(2026, 11, 2, tzinfo=UTC)
MINUTES = 74 * 60
QUIET = 72 * 60  # minute of ``regular``'s last request
NS = "team-auto"
AUTO = AutoIdle(learn_from=timedelta(days=3))
DOWN = "http://127.0.0.1:9"


def _trace(name: str, minutes: list[int]) -> Trace:
    counts = np.zeros(MINUTES, dtype=np.int64)
    counts[minutes] = 1
    return Trace(NS, name, "hand", counts, np.zeros(MINUTES), gpus=1)


def _random_minutes() -> list[int]:
    rng = np.random.default_rng(18)
    marks = np.cumsum(rng.integers(2, 121, size=120))
    return [int(m) for m in marks if m < QUIET]


TRACES = [_trace("regular", list(range(0, QUIET + 1, 16))),
          _trace("random", _random_minutes())]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PROMETHEUS.exists() or not PROMTOOL.exists():
        pytest.skip("REAL PROMETHEUS MISSING: /usr/bin/prometheus or /usr/bin/promtool absent")
    workdir = tmp_path_factory.mktemp("auto-prometheus")
    text = workdir / "traces.om"
    with text.open("w") as out:
        write_openmetrics(out, TRACES, start=BEGIN)
    subprocess.run([str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(text), str(workdir / "data")], check=True, capture_output=True)
    with serving(workdir / "data", workdir) as url:
        yield url


def _policy() -> Policy:
    return Policy(name="auto", namespace=None, source="test.yaml",
                  idle=IdleRule(after=AUTO.auto_max, min_uptime=timedelta(minutes=5),
                                auto=AUTO))


def _service(name: str) -> Service:
    return Service(ServiceRef(NS, name), f"uid-{name}", DeploymentMode.KNATIVE,
                   ServiceState.RUNNING, created_at=BEGIN - timedelta(days=30), gpus=1)


def _at(minute: int) -> datetime:
    return BEGIN + timedelta(minutes=minute)


@dataclass(frozen=True)
class Case:
    url: str  # "" = the fixture's Prometheus
    name: str
    after: timedelta
    reason: str


@pytest.mark.parametrize("case", [
    pytest.param(Case("", "regular", timedelta(minutes=17), "p99"), id="regular-gaps-short"),
    pytest.param(Case("", "random", timedelta(minutes=30), "not patterned"),
                 id="unpredictable-gaps-fallback"),
    pytest.param(Case(DOWN, "regular", timedelta(hours=2), "idle history not read"),
                 id="prometheus-down-autoMax"),
])
def test_learned_timeout(prometheus: str, case: Case) -> None:
    settings = PrometheusSettings(url=case.url or prometheus, timeout=5.0)
    learner = AutoTimeouts(PrometheusBusy(settings))
    match = governed([_policy()], [_service(case.name)])
    choice = learner.choose(match, now=_at(QUIET + 1))[ServiceRef(NS, case.name)]
    assert (choice.after, case.reason in choice.reason) == (case.after, True), choice


@pytest.mark.parametrize(("url", "stops"), [
    pytest.param("", True, id="learned-17m-stops-at-18m"),
    pytest.param(DOWN, False, id="history-down-waits-autoMax"),
])
def test_stopped_after_the_learned_timeout(prometheus: str, url: str, stops: bool) -> None:
    now = _at(QUIET + 18)
    learner = AutoTimeouts(PrometheusBusy(PrometheusSettings(url=url or prometheus,
                                                             timeout=5.0)))
    policies = [_policy()]
    matches = governed(policies, [_service("regular")])
    auto = learner.choose(matches, now=now)
    signals = gather_signals(PrometheusSignals(PrometheusSettings(url=prometheus)), matches,
                             now=now, auto=auto)
    plan = decide(now, policies, [m.service for m in matches],
                  signals=signals.by_service, ledger=LedgerView(), settings=DecideSettings(),
                  matches=matches, auto=auto)
    stopped = [t for t in plan.transitions if t.reason is Reason.IDLE_TIMEOUT]
    assert bool(stopped) is stops, plan
    if stops:
        assert stopped[0].evidence["idleAfterSeconds"] == 17 * 60
        assert "p99" in str(stopped[0].evidence["idleAfterAuto"])


class Counting(PrometheusBusy):
    pass


@pytest.mark.parametrize(("ticks", "reads"), [
    pytest.param([0, 1, 30, 59], 1, id="within-the-hour-one-read"),
    pytest.param([0, 30, 60, 61, 120], 3, id="once-an-hour"),
])
def test_read_at_most_hourly(prometheus: str, ticks: list[int], reads: int) -> None:
    source = Counting(PrometheusSettings(url=prometheus))
    learner = AutoTimeouts(source)
    matches = governed([_policy()], [_service("regular")])
    for minute in ticks:
        learner.choose(matches, now=_at(QUIET + minute))
    assert source.reads == reads


def test_backtest_and_service_choose_the_same(prometheus: str) -> None:
    """The backtest's gaps (its replay history, one read) and the service's (read a day
    at a time) give the same timeout for the same history."""
    now = _at(QUIET + 1)
    learner = AutoTimeouts(PrometheusBusy(PrometheusSettings(url=prometheus)))
    services = [_service(t.name) for t in TRACES]
    service = learner.choose(governed([_policy()], services), now=now)
    grid = Grid.covering(now - AUTO.learn_from, now, timedelta(minutes=1))
    history = read_history(PrometheusSettings(url=prometheus), grid)
    for one in services:
        states = states_before(history.of(one.ref), grid.size, learn_from=AUTO.learn_from,
                               gpu_busy_at=busy_gpu_threshold(_policy()), max_age=120.0)
        assert choose_timeout(gaps_of(states, 60.0), AUTO,
                              observed=observed(states)) == service[one.ref], one.ref


def _policy_with(auto: AutoIdle, *, gpu_below: float = 5.0) -> Policy:
    return Policy(name="auto", namespace=None, source="test.yaml",
                  idle=IdleRule(after=auto.auto_max, min_uptime=timedelta(minutes=5),
                                gpu_utilization_below=gpu_below, auto=auto))


@pytest.mark.parametrize("edited", [
    pytest.param(replace(AUTO, auto_min=timedelta(minutes=45)), id="autoMin-raised-to-45m"),
    pytest.param(replace(AUTO, auto_max=timedelta(minutes=12), auto_min=timedelta(minutes=5)),
                 id="autoMax-lowered-to-12m"),
])
def test_a_rule_edited_within_the_hour_is_learned_again_not_the_old_choice_kept(
        prometheus: str, edited: AutoIdle) -> None:
    """``regular`` learned 17m under the old bounds. Someone raises ``autoMin`` to 45m
    (stops came too soon) a minute later: the service must not keep stopping it after
    17m for the rest of the hour. The learned timeout always lies within the rule's
    bounds as they are now."""
    source = Counting(PrometheusSettings(url=prometheus))
    learner = AutoTimeouts(source)
    service = [_service("regular")]
    first = learner.choose(governed([_policy()], service), now=_at(QUIET + 1))
    after = learner.choose(governed([_policy_with(edited)], service), now=_at(QUIET + 2))
    chosen = after[ServiceRef(NS, "regular")].after
    assert first[ServiceRef(NS, "regular")].after == timedelta(minutes=17)
    assert (edited.auto_min <= chosen <= edited.auto_max, source.reads) == (True, 2), chosen


def test_a_threshold_edited_within_the_hour_is_learned_again(prometheus: str) -> None:
    """The busy steps depend on ``gpuUtilizationBelow``: a new threshold is a new
    history to learn from, not the old choice kept for an hour."""
    source = Counting(PrometheusSettings(url=prometheus))
    learner = AutoTimeouts(source)
    service = [_service("regular")]
    learner.choose(governed([_policy()], service), now=_at(QUIET + 1))
    learner.choose(governed([_policy_with(AUTO, gpu_below=50.0)], service),
                   now=_at(QUIET + 2))
    assert source.reads == 2


@contextmanager
def _slow(upstream: str, delay: float) -> Iterator[str]:
    """A proxy in front of the real Prometheus that holds every answer ``delay``
    seconds: a Prometheus under load, each day of history a slow range query."""

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay)
            answer = requests.post(upstream + self.path, data=body, timeout=30, headers={
                "Content-Type": self.headers.get("Content-Type", "")})
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_slow_history_never_holds_the_tick(prometheus: str) -> None:
    """Learning reads ``learnFrom`` a day at a time; on a Prometheus that takes 1 s per
    range query, 3 days cost the learner over 3 s (14 days, 14 s; a hung one, 120 s per
    query). The tick (``choose``) must not wait for it: it answers at once, ``autoMax``
    while nothing is learned, and the learned timeout from the tick after the read."""
    with _slow(prometheus, 1.0) as url:
        learner = AutoTimeouts(PrometheusBusy(PrometheusSettings(url=url)), background=True)
        matches = governed([_policy()], [_service("regular")])
        try:
            began = time.monotonic()
            first = learner.choose(matches, now=_at(QUIET + 1)).get(ServiceRef(NS, "regular"))
            waited = time.monotonic() - began
            learner.close(timeout=60)
            later = learner.choose(matches, now=_at(QUIET + 2))[ServiceRef(NS, "regular")]
        finally:
            learner.close()
    assert (waited < 0.5, first, later.after) == (True, None, timedelta(minutes=17)), waited
