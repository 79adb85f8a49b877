"""A real Prometheus 2.42 holding a fleet's request and GPU series, for the scale benchmarks.

Per ISVC, four series at 1 m resolution from ``start`` to ``end`` (enough for a 30 m
window and the ticks just before the evaluation instant): kube-state-metrics'
``kube_pod_labels`` and ``kube_pod_container_resource_requests`` (the pod join and the
GPU count), the Knative queue-proxy counter ``revision_app_request_count`` and
dcgm-exporter's ``DCGM_FI_DEV_GPU_UTIL``, labelled as ``tests/signals/render.py``
renders them (metrics.md §1-2). Odd-numbered ISVCs serve six requests a minute at 40 %
GPU; even ones are idle (flat counter, 0 % GPU).

The OpenMetrics text is streamed to disk, never held in memory (10,000 ISVCs make about
1.5 million samples), so the benchmark process's peak RSS stays the service's own. The
blocks ``promtool tsdb create-blocks-from openmetrics`` makes are cached under the
system temp directory, keyed by fleet and instants, and copied for each run; with the
rules' series, compacted first (`tests.fixtures.prometheus.compact`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from benchmarks.fleet import Fleet, pod_name
from tests.fixtures.prometheus import PROMTOOL, RULES_FILE, backfill_rules, compact, serving

EVERY = timedelta(minutes=1)
CACHE = Path(tempfile.gettempdir()) / "reclaimer-bench-tsdb"


def _labels(pairs: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(pairs.items()))


def _series(ns: str, name: str) -> dict[str, dict[str, str]]:
    pod = pod_name(name)
    service = f"{name}-predictor"
    return {
        "kube_pod_labels": {"namespace": ns, "pod": pod, "instance": "ksm-0",
                            "label_serving_kserve_io_inferenceservice": name,
                            "label_component": "predictor"},
        "kube_pod_container_resource_requests": {
            "namespace": ns, "pod": pod, "container": "kserve-container",
            "resource": "nvidia_com_gpu", "unit": "integer"},
        "revision_app_request_count": {
            "namespace_name": ns, "service_name": service, "revision_name": f"{service}-00001",
            "pod_name": pod, "response_code": "200", "namespace": ns, "pod": pod},
        "DCGM_FI_DEV_GPU_UTIL": {"gpu": "0", "UUID": f"GPU-{name}", "Hostname": "node-1",
                                 "modelName": "NVIDIA H100 80GB HBM3", "namespace": ns,
                                 "pod": pod, "container": "kserve-container"},
    }


def _values(metric: str, busy: bool, step: int) -> float:
    if metric == "revision_app_request_count":
        return 100.0 + (6 * step if busy else 0)
    if metric == "DCGM_FI_DEV_GPU_UTIL":
        return 40.0 if busy else 0.0
    return 1.0


def _stamps(start: datetime, end: datetime) -> list[float]:
    stamps = []
    at = start
    while at <= end:
        stamps.append(at.timestamp())
        at += EVERY
    return stamps


def write_openmetrics(out: TextIO, fleet: Fleet, *, start: datetime, end: datetime,
                      counter_from: datetime | None = None) -> int:
    """Every series of the fleet, each in time order; returns the sample count.

    ``counter_from`` starts the request counter earlier than the rest, so the
    last-request query has the history a long-running Prometheus would hold.
    """
    stamps = _stamps(start, end)
    history = _stamps(counter_from, end) if counter_from else stamps
    written = 0
    for i, ns, name in fleet.refs():
        for metric, labels in _series(ns, name).items():
            head = f"{metric}{{{_labels(labels)}}} "
            times = history if metric == "revision_app_request_count" else stamps
            out.writelines(f"{head}{_values(metric, i % 2 == 1, s):g} {ts:.3f}\n"
                           for s, ts in enumerate(times))
            written += len(times)
    out.write("# EOF\n")
    return written


def prepared(fleet: Fleet, *, start: datetime, end: datetime,
             counter_from: datetime | None = None, rules_from: datetime | None = None,
             ) -> Path:
    """The fleet's blocks (and the rules' series from ``rules_from``), built once and
    cached; with rules, compacted as a live Prometheus holds them (`compact`)."""
    spans = f"{start} {end}" + (f" counter {counter_from}" if counter_from else "")
    spans += f" rules {rules_from} {_rules_digest()}" if rules_from else ""
    key = hashlib.sha256(f"v2 {fleet} {spans}".encode()).hexdigest()[:16]
    blocks = CACHE / key
    if (blocks / "done").exists():
        return blocks
    shutil.rmtree(blocks, ignore_errors=True)
    blocks.mkdir(parents=True)
    text = blocks / "fleet.om"
    with text.open("w") as out:
        write_openmetrics(out, fleet, start=start, end=end, counter_from=counter_from)
    subprocess.run([str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(text), str(blocks / "data")], check=True, capture_output=True)
    text.unlink()
    if rules_from is not None:
        began = time.perf_counter()
        backfill_rules(blocks / "data", blocks, start=rules_from, end=end)
        (blocks / "rules-seconds").write_text(f"{time.perf_counter() - began:.1f}\n")
        compact(blocks / "data", blocks)  # one block per rule otherwise (`compact`)
    (blocks / "done").write_text("ok\n")
    return blocks


@contextmanager
def prometheus(fleet: Fleet, *, start: datetime, end: datetime,
               counter_from: datetime | None = None,
               rules_from: datetime | None = None) -> Iterator[str]:
    """Prometheus on a copy of the fleet's blocks; yields its URL, stops it on exit.

    With ``rules_from`` the blocks also hold the shipped recording rules' series from
    then on (``promtool tsdb create-blocks-from rules``), for the ``recorded`` mode.
    """
    blocks = prepared(fleet, start=start, end=end, counter_from=counter_from,
                     rules_from=rules_from)
    with tempfile.TemporaryDirectory(prefix="reclaimer-bench-prom-") as tmp:
        work = Path(tmp)
        shutil.copytree(blocks / "data", work / "data")
        with serving(work / "data", work) as url:
            yield url


def _rules_digest() -> str:
    return hashlib.sha256(RULES_FILE.read_bytes()).hexdigest()[:8]


def queries_served(url: str) -> int:
    """Instant queries Prometheus has answered, from its own /metrics (no proxy needed)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("prometheus_http_requests_total{") and \
                'handler="/api/v1/query"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)
