"""Reading history: each range query once per chunk, parsed into `History` arrays.

A chunk spans at most ``chunk_steps`` steps (`matrix.chunks`), and the chunks of all
queries are asked ``concurrency`` at a time; the answers are parsed (`matrix.parse`)
and folded into one `History` (`collect.Collector`) in the reading thread. Any
failure (HTTP error, timeout, a partial answer with warnings, a wrong shape) fails the
whole backtest with `MetricsUnavailable`: a replay over missing history would report
savings nobody could trust.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import urllib3

from reclaimer.errors import MetricsUnavailable
from reclaimer.signals.presets import PodJoin
from reclaimer.signals.ranges.collect import Collector
from reclaimer.signals.ranges.evaluate import evaluate, raw_texts
from reclaimer.signals.ranges.history import Grid, History
from reclaimer.signals.ranges.local import Row
from reclaimer.signals.ranges.matrix import Chunk, Seen, Series, chunks, on_chunk, parse
from reclaimer.signals.ranges.promql import RangeQuery, build, held
from reclaimer.signals.settings import PrometheusSettings

QUERY_TIMEOUT = 120.0


class RangeReader:
    """One HTTP session; headers, bearer token and TLS as the service's client uses them."""

    def __init__(self, settings: PrometheusSettings, *, timeout: float = QUERY_TIMEOUT,
                 compressed: bool = True) -> None:
        """``compressed=False`` asks for answers as they are (``Accept-Encoding:
        identity``): Prometheus spends a third to a half of the CPU, for 17 times the
        bytes (a week of 1,000 ISVCs: 1,079 MB against 62 MB), so only where the link
        is fast (`backtest --uncompressed`)."""
        self.settings = settings
        self.timeout = timeout
        self.url = f"{settings.url.rstrip('/')}/api/v1/query_range"
        self.session = _session(settings, self.url)
        if not compressed:
            self.session.headers["Accept-Encoding"] = "identity"
        self.queries = 0
        self.asked: list[str] = []  # each text asked, once per chunk

    def close(self) -> None:
        self.session.close()

    def _headers(self) -> dict[str, str]:
        headers = dict(self.settings.headers)
        path = self.settings.bearer_token_file
        if path is not None:
            try:
                token = Path(path).read_text().strip()
            except OSError as exc:
                raise MetricsUnavailable(f"cannot read bearerTokenFile {path}: "
                                         f"{exc.strerror}") from exc
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def ask(self, name: str, text: str, grid: Grid, chunk: Chunk) -> list[Series]:
        return parse(name, self.body(name, text, grid, chunk), chunk, grid=grid)

    def body(self, name: str, text: str, grid: Grid, chunk: Chunk) -> bytes:
        """The answer's bytes (`MetricsUnavailable` on any failure), unparsed."""
        start = grid.start + chunk.first * grid.step
        params = {"query": text, "start": f"{start:.3f}",
                  "end": f"{start + (chunk.size - 1) * grid.step:.3f}",
                  "step": f"{grid.step:g}", "timeout": f"{self.timeout:g}s"}
        try:
            response = self.session.post(self.url, data=params, headers=self._headers(),
                                         timeout=self.timeout, stream=True)
            self.queries += 1
            self.asked.append(text)
            with response:
                if response.status_code != 200:
                    raise MetricsUnavailable(f"{name} range query failed: HTTP "
                                             f"{response.status_code}: {response.text[:300]}")
                # One read and one decompression of the whole answer: ``content``
                # reads it in 10 kB pieces, each through the decoder.
                body: bytes = response.raw.read(decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise MetricsUnavailable(f"{name} range query failed: {exc}") from exc
        return body


def _session(settings: PrometheusSettings, url: str) -> requests.Session:
    """The session, with what requests would read from the environment at every request
    (proxies and ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``, ``.netrc``) read once, here:
    they are the same for every request of a backtest, and looking them up was 7 % of
    the reading's CPU (benchmarks/RESULTS.md, issue 18)."""
    session = requests.Session()
    tls = settings.tls
    verify: bool | str = False if tls.insecure_skip_verify else (tls.ca_file or True)
    cert = None if tls.cert_file is None else (tls.cert_file, tls.key_file or tls.cert_file)
    found = session.merge_environment_settings(url, {}, None, verify, cert)
    session.proxies, session.verify, session.cert = (found["proxies"], found["verify"],
                                                     found["cert"])
    session.auth = requests.utils.get_netrc_auth(url)
    session.trust_env = False
    return session

def read_history(settings: PrometheusSettings, grid: Grid, *, chunk_steps: int = 1440,  # noqa: PLR0913 - the reference read is for tests
                 reader: RangeReader | None = None,
                 only: Collection[RangeQuery] | None = None,
                 per_pod_requests: bool = False, here: bool = True) -> History:
    """Every range query (or those in ``only``; ``pods`` is always asked) over every
    chunk of ``grid``; `MetricsUnavailable` on any failure. ``per_pod_requests``: each
    pod's request shortfall too, where the request preset reads requests per pod.
    ``here``: Prometheus is asked for the raw series and the queries' PromQL is
    evaluated here (`evaluate`); else it is asked the queries themselves (the
    reference the tests compare with)."""
    own = reader is None
    reader = reader or RangeReader(settings)
    collector = Collector(grid, per_pod_requests=per_pod_requests and all(
        isinstance(source.mapping, PodJoin) for source in settings.requests.counters))
    texts = {name: text for name, text in build(settings).items()
             if only is None or name in only or name is RangeQuery.PODS}
    if collector.per_pod_requests:
        texts[RangeQuery.HELD] = held()
    asked = raw_texts(settings, texts) if here else list(texts.values())
    jobs = [(text, chunk) for chunk in chunks(grid, chunk_steps) for text in asked]
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
            for chunk, answers in _by_chunk(pool, reader, grid, jobs):
                for name, text in texts.items():
                    rows = (evaluate(name, settings, answers.__getitem__) if here
                            else answers[text])
                    collector.add(name, rows, chunk)
    finally:
        if own:
            reader.close()
    return collector.finish(settings.max_sample_age.total_seconds() + grid.step)


def _by_chunk(pool: ThreadPoolExecutor, reader: RangeReader, grid: Grid,
              jobs: list[tuple[str, Chunk]]) -> Iterator[tuple[Chunk, dict[str, list[Row]]]]:
    """Each chunk's answers, by text, as rows over the chunk, chunk after chunk. The
    pool only fetches; answers are parsed here, so the pool keeps Prometheus busy with
    the next queries meanwhile (parsing in the pool held its threads, and Prometheus
    waited: the reading used 1.2 of 2 cores at 1,000 ISVCs)."""
    futures = [(text, chunk, pool.submit(reader.body, text[:60], text, grid, chunk))
               for text, chunk in jobs]
    try:
        answers: dict[str, list[Row]] = {}
        seen: Seen = {}
        for number, (text, chunk, future) in enumerate(futures):
            parsed = parse(text[:60], future.result(), chunk, grid=grid, seen=seen)
            answers[text] = [(s.labels, on_chunk(grid, s)) for s in parsed]
            if number + 1 == len(futures) or futures[number + 1][1] != chunk:
                yield chunk, answers
                answers = {}
    finally:
        for _, _, future in futures:
            future.cancel()
