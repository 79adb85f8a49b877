"""Sandbox API server at scale: 10,000 InferenceServices with their children; prints figures.

Run from the repository root: ``.venv/bin/python -m benchmarks.sandbox_scale``
(``--isvcs``, ``--namespaces``, ``--patches``). Each ISVC gets what KServe's Knative
mode creates for it, linked by ownerReferences: a Knative Service
``<name>-predictor`` and one predictor pod with GPU requests and KServe's labels.
Objects are preloaded through ``Store.create`` (the same path HTTP writes take);
then everything is measured over HTTP on 127.0.0.1 with the official client:

- LIST all ISVCs across namespaces (bytes only, raw JSON over urllib, and
  CustomObjectsApi, which also parses);
- LIST pods of one ISVC by label selector in one namespace;
- PATCH (merge patch of the stop annotation on a random ISVC): median and p95, with a
  watch on all ISVCs open (and checked to receive every change);
- GET one ISVC: median.

Targets (issue 3): LIST all < 2 s, PATCH median < 10 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import threading
import time
import urllib.request
from typing import Any

from kubernetes import client

from kubesandbox import types
from kubesandbox.server import ApiServer
from kubesandbox.store import Store

KSERVE = ("serving.kserve.io", "v1beta1")


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
            "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _isvc(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"team": "bench"},
                         "annotations": {"serving.kserve.io/deploymentMode": "Serverless"}},
            "spec": {"predictor": {"minReplicas": 1, "model": {
                "modelFormat": {"name": "vllm"}, "storageUri": f"s3://models/{name}",
                "resources": {"limits": {"nvidia.com/gpu": "1"}}}}}}


def _status(name: str, ns: str) -> dict[str, Any]:
    ready = [{"type": t, "status": "True", "lastTransitionTime": "2026-11-28T00:00:00Z"}
             for t in ("IngressReady", "PredictorReady", "Ready")]
    return {"url": f"http://{name}.{ns}.example.com", "conditions": ready,
            "components": {"predictor": {"latestReadyRevision": f"{name}-predictor-00001"}}}


def _pod(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": f"{name}-predictor-00001-deployment-abcde",
                         "labels": {"serving.kserve.io/inferenceservice": name,
                                    "component": "predictor"},
                         "ownerReferences": [_owner(owner)]},
            "spec": {"containers": [{"name": "kserve-container", "image": "vllm:0.6",
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}


def preload(store: Store, isvcs: int, namespaces: int) -> float:
    start = time.perf_counter()
    for i in range(isvcs):
        ns, name = f"team-{i % namespaces:03d}", f"model-{i:05d}"
        made = store.create(types.INFERENCESERVICES, _isvc(name), namespace=ns)
        store.replace(types.INFERENCESERVICES, {**made, "status": _status(name, ns)},
                      subresource="status")
        ksvc = store.create(types.KSERVICES, {"metadata": {
            "name": f"{name}-predictor", "ownerReferences": [_owner(made)]},
            "spec": {"template": {"spec": {}}}}, namespace=ns)
        store.create(types.PODS, _pod(name, ksvc), namespace=ns)
    return time.perf_counter() - start


def _timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _raw_list(url: str, *, parse: bool = True) -> int:
    with urllib.request.urlopen(url, timeout=60) as resp:
        body = resp.read()
    return len(json.loads(body)["items"]) if parse else len(body)


class _Watcher(threading.Thread):
    """A raw watch on all ISVCs during the PATCH run, as reclaimer's inventory keeps one."""

    def __init__(self, url: str, *, expected: int) -> None:
        super().__init__(daemon=True)
        self.url, self.expected, self.seen = url, expected, 0

    def run(self) -> None:
        with urllib.request.urlopen(self.url, timeout=120) as resp:
            for line in resp:
                if json.loads(line)["type"] == "MODIFIED":
                    self.seen += 1
                if self.seen == self.expected:
                    return


def measure(server: ApiServer, args: argparse.Namespace) -> dict[str, Any]:
    config = client.Configuration()
    config.host = server.url
    with client.ApiClient(config) as api:
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        url = f"{server.url}/apis/serving.kserve.io/v1beta1/inferenceservices"
        assert _raw_list(url) == args.isvcs
        raw_list = _timed(lambda: _raw_list(url), 3)
        bytes_only = _timed(lambda: _raw_list(url, parse=False), 3)
        client_list = _timed(lambda: custom.list_cluster_custom_object(
            *KSERVE, "inferenceservices"), 3)
        rng = random.Random(7)
        names = [(f"team-{i % args.namespaces:03d}", f"model-{i:05d}")
                 for i in rng.sample(range(args.isvcs), args.patches)]
        watcher = _Watcher(f"{url}?watch=1&resourceVersion={server.store.resource_version}"
                           "&timeoutSeconds=120", expected=len(names))
        watcher.start()
        patches = [_timed(lambda ns=ns, n=n: custom.patch_namespaced_custom_object(
            *KSERVE, ns, "inferenceservices", n,
            {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}}), 1)[0]
            for ns, n in names]
        watcher.join(timeout=120)
        gets = [_timed(lambda ns=ns, n=n: custom.get_namespaced_custom_object(
            *KSERVE, ns, "inferenceservices", n), 1)[0] for ns, n in names]
        ns, name = names[0]
        selected = _timed(lambda: core.list_namespaced_pod(
            ns, label_selector=f"serving.kserve.io/inferenceservice={name}"), 20)
    return {"raw_list": raw_list, "bytes_only": bytes_only, "client_list": client_list,
            "patches": patches, "gets": gets, "selected": selected,
            "watched": watcher.seen}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(args: argparse.Namespace, load: float, store: Store, m: dict[str, Any]) -> None:
    objects = sum(len(store.list(t)[0]) for t in
                  (types.INFERENCESERVICES, types.KSERVICES, types.PODS))
    p95 = statistics.quantiles(m["patches"], n=20)[-1]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Sandbox scale: {args.isvcs} ISVCs in {args.namespaces} namespaces, "
          f"{objects} objects (ISVC + ksvc + pod each), preload {load:.1f} s, "
          f"peak RSS {rss_mib:.0f} MiB")
    print(f"  LIST all ISVCs, raw HTTP+json     best {min(m['raw_list']):.2f} s  "
          f"(target < 2 s)")
    print(f"  LIST all ISVCs, bytes, no parsing best {min(m['bytes_only']):.2f} s")
    print(f"  LIST all ISVCs, CustomObjectsApi  best {min(m['client_list']):.2f} s")
    print(f"  PATCH ISVC (merge), n={len(m['patches'])}        "
          f"median {_ms(statistics.median(m['patches']))}, p95 {_ms(p95)}  (target < 10 ms)")
    print(f"  watch on all ISVCs during PATCHes  {m['watched']}/{len(m['patches'])} "
          "MODIFIED events delivered")
    print(f"  GET ISVC                          median {_ms(statistics.median(m['gets']))}")
    print(f"  LIST pods by label, one namespace median {_ms(statistics.median(m['selected']))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isvcs", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--patches", type=int, default=200)
    args = parser.parse_args()
    store = Store()
    load = preload(store, args.isvcs, args.namespaces)
    with ApiServer(store) as server:
        figures = measure(server, args)
    report(args, load, store, figures)


if __name__ == "__main__":
    main()
