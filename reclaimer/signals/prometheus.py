"""The Prometheus adapter: seven instant queries per evaluation (any windows), fail-safe.

prometheus-api-client 0.7.2 is set up as metrics.md §4 advises:

- retry off: its default ``Retry(total=3, backoff_factor=1, status_forcelist=[..503..])``
  turns a 503 into ``RetryError`` after about 6 s; here ``Retry(total=0)`` is mounted, so
  every failure surfaces at once (``prometheus_connect.py`` ``__init__``);
- an explicit timeout: the configured ``timeout`` is a budget for the whole
  evaluation; each query gets what is left, both as the socket timeout (connect and
  each read) and as Prometheus' own ``timeout`` parameter, so the server stops work
  the client no longer waits for;
- a hard deadline: a server that trickles its answer is cut off at the deadline
  (`DeadlineSession`);
- queries run on a small pool of worker threads (``concurrency``), so an evaluation
  takes as long as its slowest query;
- one client per thread: ``requests.Session`` is not documented as thread-safe
  (psf/requests#2766), so each thread gets its own client through ``threading.local``;
- answers are parsed into rows as they arrive (`answer.parse_answer`), not into
  the whole JSON tree ``custom_query`` builds: the query is sent exactly as
  ``custom_query`` sends it, through the same session, and the body read by chunks.

Distributed Prometheus (Thanos Query, Mimir) answers ``"status": "success"`` with
``warnings`` when a store or ingester did not answer: such a partial answer raises
`PartialAnswer` (a `MetricsUnavailable`), logged with the warning text and counted
through ``on_partial``, because which services it missed cannot be told. Per-request
``headers`` (``X-Scope-OrgID``), the bearer token (re-read at every query) and TLS
(CA, client certificate, or no verification) are set from the settings.

The wall time of each evaluation, success or failure, is measured with the injected
``monotonic`` clock and kept (`durations`), so the service can warn when evaluations
come close to ``timeout`` (`pace.slow_evaluations`).

Both of the library's failure families (``PrometheusApiClientException`` for a
non-200 answer, ``requests`` exceptions for transport) and any malformed answer
become one ``MetricsUnavailable``: nothing is known about any service. That HTTP side
(the client per thread, the headers, one query within the deadline) is
`instant_query.InstantQueries`; this module decides what to ask and reads the answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import urllib3

from reclaimer.model import ServiceKind, ServiceRef, Signals
from reclaimer.signals.answer import Row
from reclaimer.signals.assemble import Evaluation, assemble
from reclaimer.signals.deadline import DeadlineSession
from reclaimer.signals.instant_query import InstantQueries
from reclaimer.signals.kinds import PROFILES, measured
from reclaimer.signals.observed import largest, observations
from reclaimer.signals.queries import Query, Spans, build, render
from reclaimer.signals.recorded import Recorded
from reclaimer.signals.recorded_answer import LastSeen, normalized, rules_check
from reclaimer.signals.settings import PrometheusSettings
from reclaimer.signals.windows import fold, split

KEPT_DURATIONS = 5  # evaluations whose wall time is kept for the slow-evaluation warning
log = logging.getLogger("reclaimer.signals")


class PrometheusSignals(InstantQueries):
    """`SignalSource` over a real Prometheus (docs/design.md §4)."""

    def __init__(self, settings: PrometheusSettings, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_partial: Callable[[str], None] | None = None,
                 on_fallback: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self._on_partial = on_partial
        self._on_fallback = on_fallback
        self._falling_back = False
        self._durations: deque[float] = deque(maxlen=KEPT_DURATIONS)
        if settings.tls.insecure_skip_verify:
            # Said once here, not by urllib3 at every query.
            log.warning("prometheus.tls.insecureSkipVerify: the server is not verified")
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._templates = {q: settings.templates[q.value] for q in Query
                           if q.value in settings.templates}
        self._local = threading.local()
        self._sessions: list[DeadlineSession] = []
        self._lock = threading.Lock()
        workers = settings.concurrency
        self._pool = ThreadPoolExecutor(workers, "prometheus") if workers > 1 else None

    def queries(self, *, window: timedelta) -> dict[Query, str]:
        """The PromQL of one evaluation, as sent (for `reclaimer signals` and logs)."""
        return self.queries_for((window,))

    def queries_for(self, windows: Sequence[timedelta], *,
                    recent: timedelta | None = None,
                    recorded: bool | None = None,
                    kind: ServiceKind = ServiceKind.INFERENCE_SERVICE) -> dict[Query, str]:
        """One query per signal, whatever the number of windows.

        A query whose text is the same for every window (last request, freshness, GPU
        count) is asked once and serves them all; the others ask every window in one
        query, each window's rows tagged (`windows.WINDOW_LABEL`); one window is not
        tagged, so the text printed by ``reclaimer signals --queries`` can serve as a
        template. ``recent`` (default: the shortest window) is where the last request is
        resolved to the full step, and a window of the GPU peak too (busy-at-stop).
        Another ``kind`` gets its profile's queries (`kinds.py`): raw, no templates.
        """
        windows = sorted(set(windows))
        recent = recent or windows[0]
        with_recent = sorted({*windows, recent})
        spans = self._spans(with_recent, recent)
        longest = spans[max(windows)]
        s = self.settings
        if kind is not ServiceKind.INFERENCE_SERVICE:
            return self._kind_queries(kind, windows, with_recent, longest)
        if recorded if recorded is not None else s.mode == "recorded":
            built = Recorded(s.requests, s.gpu, step=s.resolution, horizon=longest.horizon,
                             recent=recent).build(windows, gpu_max_windows=with_recent)
        else:
            built = build(s.requests, s.gpu, windows if len(windows) > 1 else None,
                          gpu_max_windows=with_recent if len(with_recent) > 1 else None)
        out = {q: render(text, longest, pod_labels=s.pod_labels, isvc_label=s.isvc_label)
               for q, text in built.items()}
        for q, template in self._templates.items():
            asked = with_recent if q is Query.GPU_MAX else windows
            out[q] = fold({w: render(template, spans[w], pod_labels=s.pod_labels,
                                     isvc_label=s.isvc_label) for w in asked})
        return out

    def _kind_queries(self, kind: ServiceKind, windows: list[timedelta],
                      with_recent: list[timedelta], spans: Spans) -> dict[Query, str]:
        profile = PROFILES[kind]
        built = build(profile.requests, self.settings.gpu, windows if len(windows) > 1 else None,
                      gpu_max_windows=with_recent if len(with_recent) > 1 else None)
        return {q: render(text, spans, pod_labels=profile.pod_labels,
                          isvc_label=profile.name_label) for q, text in built.items()}

    def _spans(self, windows: Sequence[timedelta], recent: timedelta,
               ) -> dict[timedelta, Spans]:
        s = self.settings
        horizon = max(s.last_request_horizon, *windows)
        return {w: Spans(window=w, step=s.resolution, horizon=horizon, recent=recent)
                for w in windows}

    def fetch(self, *, at: datetime, window: timedelta) -> dict[ServiceRef, Signals]:
        return self.fetch_windows(at=at, windows=(window,))[window]

    @property
    def durations(self) -> tuple[float, ...]:
        """Seconds taken by the last evaluations (oldest first), failed ones included."""
        with self._lock:
            return tuple(self._durations)

    def fetch_windows(self, *, at: datetime, windows: Sequence[timedelta],
                      recent: timedelta | None = None,
                      kinds: Collection[ServiceKind] = (ServiceKind.INFERENCE_SERVICE,),
                      ) -> dict[timedelta, dict[ServiceRef, Signals]]:
        """Every window in one evaluation: one query per signal and kind, one timeout in
        all. Kinds without a profile (`kinds.measured`) are not asked about."""
        started = self._monotonic()
        deadline = time.monotonic() + self.settings.timeout.total_seconds()
        found: dict[timedelta, dict[ServiceRef, Signals]] = {w: {} for w in windows}
        try:
            for kind in sorted({k for k in kinds if measured(k)}):
                part = self._fetch_windows(at=at, windows=windows, recent=recent,
                                           deadline=deadline, kind=kind)
                for window, by_ref in part.items():
                    found[window].update(by_ref)
            return found
        finally:
            with self._lock:
                self._durations.append(max(self._monotonic() - started, 0.0))

    def _fetch_windows(self, *, at: datetime, windows: Sequence[timedelta],
                       recent: timedelta | None, deadline: float, kind: ServiceKind,
                       ) -> dict[timedelta, dict[ServiceRef, Signals]]:
        windows = sorted(set(windows))
        recent = recent or windows[0]
        rows = self._ask(self.queries_for(windows, recent=recent, kind=kind), at=at,
                         deadline=deadline, kind=kind)
        if self.settings.mode == "recorded" and kind is ServiceKind.INFERENCE_SERVICE:
            rows = self._recorded_or_raw(rows, at=at, windows=windows, recent=recent,
                                         deadline=deadline)
        parts = split(rows, sorted({*windows, recent}))
        recent_peak = largest(parts[recent][Query.GPU_MAX])
        return {w: assemble(observations(parts[w], recent_gpu_max=recent_peak),
                            self._evaluation(at, w, recent)) for w in windows}

    def _ask(self, queries: dict[Query, str], *, at: datetime, deadline: float,
             kind: ServiceKind = ServiceKind.INFERENCE_SERVICE) -> dict[Query, list[Row]]:
        refs: dict[tuple[str, str], ServiceRef] = {}  # one ServiceRef per service
        if self._pool is None:
            return {q: self._query(q, text, at=at, deadline=deadline, kind=kind, refs=refs)
                    for q, text in queries.items()}
        return self._in_parallel(self._pool, queries, at=at, deadline=deadline, kind=kind,
                                 refs=refs)

    def _recorded_or_raw(self, rows: dict[Query, list[Row]], *, at: datetime,
                         windows: Sequence[timedelta], recent: timedelta,
                         deadline: float) -> dict[Query, list[Row]]:
        """The recorded answer when the rules ran throughout the horizon; else the raw one.

        Absent rules, rules installed less than a horizon ago, a missed evaluation
        (a restart, an overloaded rule group) or one where a rule failed (`rules.heartbeat_expr`)
        are told by the rules' own heartbeat;
        the raw queries are then asked within what is left of the timeout. Logged when
        it starts and stops, counted every time (``on_fallback``).
        """
        s = self.settings
        horizon = max(s.last_request_horizon, *windows)
        check = rules_check(rows[Query.COVERAGE])
        if check.complete(at=at.timestamp(), horizon=horizon, step=s.resolution):
            if self._falling_back:
                log.info("recording rules complete again: using the recorded signals")
                self._falling_back = False
            spans = self._spans(sorted({*windows, recent}), recent)
            return normalized(rows, check, at=at, windows=sorted(spans), step=s.resolution,
                              last_seen=LastSeen.of(spans[recent]))
        if not self._falling_back:
            log.warning("recording rules absent or incomplete over the last %s (evaluations "
                        "%s, newest %s; evaluations of every file recording these presets "
                        "%s: more than one file writes the same series if above; an "
                        "evaluation where a rule failed has no heartbeat: Prometheus logs "
                        "'Evaluating rule failed'): asking the raw queries until they are "
                        "complete", horizon, check.evaluations, check.newest, check.written)
            self._falling_back = True
        if self._on_fallback is not None:
            self._on_fallback()
        raw = self.queries_for(windows, recent=recent, recorded=False)
        return self._ask(raw, at=at, deadline=deadline)

    def _evaluation(self, at: datetime, window: timedelta, recent: timedelta) -> Evaluation:
        return Evaluation(at=at, window=window, step=self.settings.resolution,
                          max_sample_age=self.settings.max_sample_age, recent=recent)

    def close(self) -> None:
        """Stop the worker threads and close every thread's connections."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for session in self._sessions:
                session.close()
