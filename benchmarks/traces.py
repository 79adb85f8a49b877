"""Multi-day traffic that looks like inference services, for backtests (issue 18).

Each `Trace` is per-minute: requests served in the minute ending at each instant, GPU
utilisation (percent) over it, and minutes with no scrape (unknown data). Shapes:

- ``office``: weekdays 09:00-18:00 UTC, Poisson requests with a lunch dip;
- ``bursty``: a few sessions a day at random times, 10-90 minutes of dense requests;
- ``nightly``: a batch at 02:00 every day for about an hour;
- ``weekly``: a job on Mondays 10:00-12:00;
- ``sporadic``: single requests, Poisson, one every few hours;
- ``always``: busy every minute;
- ``never``: never called.

Burst shapes are synthetic (Poisson arrivals within sessions); no public multi-day
inference trace is packaged for offline use (the Azure LLM inference traces 2023 are
one hour each and not on this machine). `write_openmetrics` renders the series the
real exporters would (`tests/signals/render.py`): kube-state-metrics' pod labels and
GPU requests, the Knative queue-proxy counter and dcgm-exporter's utilisation, one
sample a minute, streamed; `inventory` writes the matching ISVC list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

import numpy as np
import numpy.typing as npt

SHAPES = ("office", "bursty", "nightly", "weekly", "sporadic", "always", "never")
ISVC_LABEL = "label_serving_kserve_io_inferenceservice"
Ints = npt.NDArray[np.int64]


@dataclass
class Trace:
    namespace: str
    name: str
    shape: str
    requests: Ints  # per minute
    gpu: npt.NDArray[np.float64]  # percent, per minute
    gpus: int = 1
    unscraped: npt.NDArray[np.bool_] | None = None  # minutes with no sample at all


def _minutes(start: datetime, minutes: int) -> tuple[Ints, Ints, Ints]:
    stamps = start.timestamp() + 60 * np.arange(minutes)
    days = (stamps // 86400).astype(np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    minute_of_day = ((stamps % 86400) // 60).astype(np.int64)
    return weekday, minute_of_day, days


def _rate(shape: str, start: datetime, minutes: int, rng: np.random.Generator
          ) -> npt.NDArray[np.float64]:
    weekday, mod, days = _minutes(start, minutes)
    rate = np.zeros(minutes)
    if shape == "office":
        hours = (weekday < 5) & (mod >= 9 * 60) & (mod < 18 * 60)
        rate[hours] = 1.5
        rate[hours & (mod >= 12 * 60) & (mod < 13 * 60)] = 0.2
    elif shape == "nightly":
        rate[(mod >= 120) & (mod < 180 + rng.integers(0, 30))] = 8.0
    elif shape == "weekly":
        rate[(weekday == 0) & (mod >= 600) & (mod < 720)] = 4.0
    elif shape == "sporadic":
        rate[:] = 1 / 180
    elif shape == "always":
        rate[:] = 6.0
    elif shape == "bursty":
        for day in np.unique(days):
            for _ in range(rng.poisson(3)):
                begin = int((day * 86400 - start.timestamp()) // 60 + rng.integers(0, 1440))
                rate[max(0, begin):max(0, begin + int(rng.integers(10, 90)))] = 3.0
    return rate


def generate(shape: str, *, namespace: str, name: str, start: datetime, days: int,
             seed: int) -> Trace:
    rng = np.random.default_rng(seed)
    minutes = days * 1440
    requests = rng.poisson(_rate(shape, start, minutes, rng)).astype(np.int64)
    gpu = np.where(requests > 0, rng.uniform(30, 90, minutes), 0.0)
    return Trace(namespace, name, shape, requests, gpu)


def fleet(count: int, *, start: datetime, days: int, namespaces: int = 10,
          shapes: Sequence[str] = SHAPES, seed: int = 7) -> list[Trace]:
    """``count`` traces, shapes round-robin, ``team-NN`` namespaces round-robin."""
    return [generate(shapes[i % len(shapes)], namespace=f"team-{i % namespaces:02d}",
                     name=f"model-{i:05d}", start=start, days=days, seed=seed * 100_003 + i)
            for i in range(count)]


def pod_of(trace: Trace) -> str:
    return f"{trace.name}-predictor-1"


def _labels(pairs: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(pairs.items()))


# Series whose value never changes are sampled every `CONSTANT_EVERY` minutes: an instant
# lookup sees 5 minutes back, so they are present at every step all the same.
CONSTANT = ("kube_pod_labels", "kube_pod_container_resource_requests")
CONSTANT_EVERY = 4


def _series(trace: Trace) -> dict[str, dict[str, str]]:
    """The labels the presets read, and no more (the text is what promtool parses)."""
    pod = pod_of(trace)
    ns = trace.namespace
    return {
        "kube_pod_labels": {"namespace": ns, "pod": pod, ISVC_LABEL: trace.name},
        "kube_pod_container_resource_requests": {
            "namespace": ns, "pod": pod, "container": "c", "resource": "nvidia_com_gpu"},
        "revision_app_request_count": {"namespace_name": ns,
                                       "service_name": f"{trace.name}-predictor"},
    } | {f"DCGM_FI_DEV_GPU_UTIL#{g}": {"gpu": str(g), "UUID": f"GPU-{trace.name}-{g}",
                                       "namespace": ns, "pod": pod}
         for g in range(trace.gpus)}


def _values(metric: str, trace: Trace) -> npt.NDArray[np.float64]:
    if metric == "revision_app_request_count":
        return (100 + np.cumsum(trace.requests)).astype(np.float64)
    if metric.startswith("DCGM_FI_DEV_GPU_UTIL"):
        return trace.gpu
    if metric == "kube_pod_container_resource_requests":
        return np.full(trace.requests.size, float(trace.gpus))
    return np.ones(trace.requests.size)


def write_openmetrics(out: TextIO, traces: Iterable[Trace], *, start: datetime,
                      minutes: range | None = None) -> int:
    """Every series, a sample a minute at ``start + i`` minutes (``minutes`` only, if
    given; the constant ones every `CONSTANT_EVERY`); returns the sample count."""
    written = 0
    for trace in traces:
        size = trace.requests.size
        chosen = np.arange(size) if minutes is None else np.arange(
            max(0, minutes.start), min(size, minutes.stop))
        if trace.unscraped is not None:
            chosen = chosen[~trace.unscraped[chosen]]
        stamps = start.timestamp() + 60.0 * chosen
        for metric, labels in _series(trace).items():
            head = f"{metric.split('#')[0]}{{{_labels(labels)}}} "
            keep = chosen % CONSTANT_EVERY == 0 if metric in CONSTANT else slice(None)
            values = _values(metric, trace)[chosen][keep]
            out.writelines(f"{head}{v:g} {t:.0f}\n"
                           for v, t in zip(values, stamps[keep], strict=True))
            written += int(values.size)
    out.write("# EOF\n")
    return written


def inventory(traces: Iterable[Trace], *, created: datetime,
              labels: dict[str, str] | None = None) -> dict[str, object]:
    """A `kubectl get isvc -A -o yaml`-like List of the traces' ISVCs (Knative, running)."""
    items = [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"namespace": t.namespace, "name": t.name, "uid": f"uid-{t.name}",
                           "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "labels": {"shape": t.shape, **(labels or {})}},
              "spec": {"predictor": {"model": {"modelFormat": {"name": "vllm"}, "resources": {
                  "limits": {"nvidia.com/gpu": str(t.gpus)}}}}}}
             for t in traces]
    return {"apiVersion": "v1", "kind": "List", "items": items}


START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
ONE_DAY = timedelta(days=1)
