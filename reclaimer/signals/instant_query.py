"""One instant query over HTTP, within the evaluation's deadline (`prometheus.py`).

The part of `PrometheusSignals` that talks to Prometheus: each thread's own client and
session (``requests.Session`` is not documented as thread-safe), the configured headers
with the bearer token read at every query, the deadline cut into each query's socket and
server timeouts, the answer parsed as it arrives, and every failure turned into one
`MetricsUnavailable` (a partial answer into `PartialAnswer`, logged and counted). A
mixin: its state is made by `PrometheusSignals.__init__`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from pathlib import Path

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from reclaimer.errors import MetricsUnavailable, PartialAnswer
from reclaimer.model import ServiceKind, ServiceRef
from reclaimer.signals.answer import Answer, NotAVector, Row, parse_answer, texts
from reclaimer.signals.deadline import DeadlineSession
from reclaimer.signals.failures import short as _short
from reclaimer.signals.failures import transport as _transport
from reclaimer.signals.promql import duration
from reclaimer.signals.queries import Query
from reclaimer.signals.settings import PrometheusSettings

_GRACE = 0.2  # seconds past the deadline for a worker to report its own timeout
log = logging.getLogger("reclaimer.signals")


class InstantQueries:
    """Asks Prometheus one instant query at a time, or several on a pool of threads."""

    settings: PrometheusSettings
    _on_partial: Callable[[str], None] | None
    _local: threading.local
    _sessions: list[DeadlineSession]
    _lock: threading.Lock

    def _in_parallel(self, pool: ThreadPoolExecutor, queries: dict[Query, str], *,
                     at: datetime, deadline: float, kind: ServiceKind,
                     refs: dict[tuple[str, str], ServiceRef]) -> dict[Query, list[Row]]:
        """Latency of the slowest query, not the sum; each worker has its own client.

        The wait is bounded too, so even a worker stuck on a trickled header cannot
        hold the caller past the deadline.
        """
        futures = {q: pool.submit(self._query, q, text, at=at, deadline=deadline, kind=kind,
                                  refs=refs)
                   for q, text in queries.items()}
        try:
            return {q: f.result(timeout=max(0.0, deadline - time.monotonic()) + _GRACE)
                    for q, f in futures.items()}
        except FutureTimeout as exc:
            raise MetricsUnavailable(
                f"evaluation exceeded its {self.settings.timeout.total_seconds():g}s timeout",
            ) from exc
        finally:
            for future in futures.values():
                future.cancel()

    def _client(self) -> PrometheusConnect:
        client = getattr(self._local, "client", None)
        if client is None:
            session = DeadlineSession()
            tls = self.settings.tls
            session.verify = False if tls.insecure_skip_verify else (tls.ca_file or True)
            if tls.cert_file is not None:
                session.cert = (tls.cert_file, tls.key_file or tls.cert_file)
            client = PrometheusConnect(url=self.settings.url, session=session,
                                       retry=Retry(total=0, raise_on_status=False))
            self._local.client, self._local.session = client, session
            with self._lock:
                self._sessions.append(session)
        return client

    def _headers(self, query: Query) -> dict[str, str]:
        """The configured headers; the token is read at every query: tokens rotate."""
        headers = dict(self.settings.headers)
        path = self.settings.bearer_token_file
        if path is None:
            return headers
        try:
            token = Path(path).read_text().strip()
        except OSError as exc:
            raise MetricsUnavailable(f"{query} query: cannot read bearerTokenFile {path}: "
                                     f"{exc.strerror}") from exc
        return {**headers, "Authorization": f"Bearer {token}"}

    def _query(self, query: Query, text: str, *, at: datetime, deadline: float,
               kind: ServiceKind = ServiceKind.INFERENCE_SERVICE,
               refs: dict[tuple[str, str], ServiceRef] | None = None) -> list[Row]:
        """One query's rows; ``refs`` is the evaluation's (`answer.parse_answer`)."""
        remaining = self._time_left(query, deadline)
        server_timeout = self.settings.query_timeout or timedelta(seconds=remaining)
        params = {"time": f"{at.timestamp():.3f}", "timeout": duration(server_timeout)}
        self._client()  # this thread's client and session, made on first use
        self._local.session.deadline = deadline
        try:
            answer = self._get(text, params=params, headers=self._headers(query),
                               timeout=remaining, kind=kind, refs=refs)
        except PrometheusApiClientException as exc:
            raise MetricsUnavailable(f"{query} query failed: {_short(exc)}") from exc
        except NotAVector as exc:
            raise MetricsUnavailable(f"{query} query did not return an instant vector",
                                     ) from exc
        except (requests.RequestException, ValueError) as exc:
            raise MetricsUnavailable(f"{query} query failed: {_transport(exc, remaining)}",
                                     ) from exc
        except OSError as exc:  # requests: a CA, certificate or key file it cannot read
            raise MetricsUnavailable(f"{query} query failed: TLS: {_short(exc, 200)} "
                                     "(check prometheus.tls)") from exc
        if answer.warnings:
            raise self._partial(query, answer.warnings)
        return answer.rows

    def _time_left(self, query: Query, deadline: float) -> float:
        """Seconds left of the evaluation's timeout for this query; none left fails it."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MetricsUnavailable(
                f"evaluation exceeded its {self.settings.timeout.total_seconds():g}s timeout"
                f" before the {query} query")
        return remaining

    def _partial(self, query: Query, warnings: tuple[str, ...]) -> PartialAnswer:
        """Logged and counted here, where the query is known; every service is unknown."""
        text = _short("; ".join(warnings))
        log.warning("partial answer to the %s query: %s", query, text,
                    extra={"fields": {"query": str(query), "warnings": list(warnings)}})
        if self._on_partial is not None:
            self._on_partial(str(query))
        return PartialAnswer(f"partial answer to the {query} query (warnings: {text})",
                             query=str(query), warnings=warnings)

    def _get(self, text: str, *, params: dict[str, str],
             headers: dict[str, str] | None, timeout: float, kind: ServiceKind,
             refs: dict[tuple[str, str], ServiceRef] | None) -> Answer:
        """``custom_query``'s request, through the same session, parsed as it arrives.

        ``custom_query`` parses the whole answer into dicts (``response.json()``);
        here the body's chunks are parsed into rows as they are read (`answer.texts`,
        by the session's deadline), so neither the bytes nor the text of a 1-5 MB
        answer is ever held whole. A non-200 answer raises what ``custom_query``
        raises, with its message.
        """
        session, client = self._local.session, self._local.client
        response = session.request(
            "GET", f"{client.url}/api/v1/query", params={"query": text, **params},
            verify=session.verify, headers=headers, cert=session.cert, timeout=timeout,
            stream=True)
        try:
            if response.status_code != 200:
                detail = b"".join(session.body(response))
                raise PrometheusApiClientException(
                    f"HTTP Status Code {response.status_code} ({detail!r})")
            return parse_answer(texts(session.body(response)), kind=kind, refs=refs)
        finally:
            response.close()
