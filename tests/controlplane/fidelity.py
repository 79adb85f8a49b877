"""The differential runner: one scripted ISVC life on the sandbox and on the real KServe.

Both sides get the same manifest and the same steps through the official client; after
each step the runner waits until the side is settled and records what a client sees:
the ISVC's condition types/status/reason and deployment mode, each component
Deployment's spec and status replicas, the live pod count, the Services and HPAs
labelled for the ISVC. `compare` lists every field that differs; `render` writes the
table for docs/fidelity.md. Knative mode is not played: Knative Serving needs a
networking layer and an activator that these machines cannot run, so it stays a
sandbox-only profile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
LABEL = "serving.kserve.io/inferenceservice"
NAME = "life"
Observation = dict[str, Any]


@dataclass(frozen=True)
class Side:
    """One API server holding a KServe controller (real or simulated)."""

    api: client.ApiClient
    namespace: str
    settle: Callable[[Side], Observation]


def observe(side: Side) -> Observation:
    ns, custom = side.namespace, client.CustomObjectsApi(side.api)
    try:
        isvc = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, NAME)
    except ApiException as exc:
        if exc.status != 404:
            raise
        isvc = None
    selector = f"{LABEL}={NAME}"
    apps, core = client.AppsV1Api(side.api), client.CoreV1Api(side.api)
    deployments = apps.list_namespaced_deployment(ns, label_selector=selector).items
    pods = core.list_namespaced_pod(ns, label_selector=selector).items
    services = core.list_namespaced_service(ns, label_selector=selector).items
    hpas = client.AutoscalingV2Api(side.api).list_namespaced_horizontal_pod_autoscaler(ns).items
    status = (isvc or {}).get("status") or {}
    return {
        "isvc": isvc is not None,
        "conditions": {c["type"]: f"{c['status']}/{c.get('reason') or '-'}"
                       for c in status.get("conditions") or []},
        "deploymentMode": status.get("deploymentMode"),
        "deployments": {d.metadata.name: f"spec={d.spec.replicas} status={d.status.replicas or 0}"
                        for d in deployments},
        "pods": sum(1 for p in pods if p.metadata.deletion_timestamp is None),
        "services": sorted(s.metadata.name for s in services),
        "hpas": sorted(h.metadata.name for h in hpas),
    }


def settle_by_polling(side: Side, *, quiet_polls: int = 4, timeout: float = 90.0) -> Observation:
    """The real cluster: settled once the observation stayed the same for a few polls."""
    deadline = time.monotonic() + timeout
    last, same = observe(side), 0
    while same < quiet_polls and time.monotonic() < deadline:
        time.sleep(1.0)
        now = observe(side)
        same = same + 1 if now == last else 0
        last = now
    return last


def _patch_isvc(side: Side, annotations: Mapping[str, str | None]) -> None:
    client.CustomObjectsApi(side.api).patch_namespaced_custom_object(
        GROUP, VERSION, side.namespace, PLURAL, NAME,
        {"metadata": {"annotations": dict(annotations)}})


def _scale(side: Side, replicas: int) -> None:
    apps = client.AppsV1Api(side.api)
    for d in apps.list_namespaced_deployment(side.namespace,
                                             label_selector=f"{LABEL}={NAME}").items:
        apps.patch_namespaced_deployment_scale(d.metadata.name, side.namespace,
                                               {"spec": {"replicas": replicas}})


def steps(manifest: Mapping[str, Any]) -> Sequence[tuple[str, Callable[[Side], None]]]:
    """The scripted life; each step is a client call, then the side settles."""
    stop = "serving.kserve.io/stop"
    klass = "serving.kserve.io/autoscalerClass"
    return (
        ("create", lambda s: client.CustomObjectsApi(s.api).create_namespaced_custom_object(
            GROUP, VERSION, s.namespace, PLURAL, dict(manifest))),
        ("stop annotation true", lambda s: _patch_isvc(s, {stop: "true"})),
        ("stop annotation removed", lambda s: _patch_isvc(s, {stop: None})),
        ("managed: autoscalerClass external", lambda s: _patch_isvc(s, {klass: "external"})),
        ("managed: Deployment scaled to 0", lambda s: _scale(s, 0)),
        ("managed: Deployment scaled to 1", lambda s: _scale(s, 1)),
        ("managed: autoscalerClass removed", lambda s: _patch_isvc(s, {klass: None})),
        ("delete", lambda s: client.CustomObjectsApi(s.api).delete_namespaced_custom_object(
            GROUP, VERSION, s.namespace, PLURAL, NAME)),
    )


def play(side: Side, manifest: Mapping[str, Any]) -> list[tuple[str, Observation]]:
    seen = []
    for name, act in steps(manifest):
        act(side)
        seen.append((name, side.settle(side)))
    return seen


@dataclass(frozen=True)
class Difference:
    step: str
    field: str
    sandbox: Any
    real: Any


def compare(sandbox: Sequence[tuple[str, Observation]],
            real: Sequence[tuple[str, Observation]]) -> list[Difference]:
    found = []
    for (step, sim), (_, got) in zip(sandbox, real, strict=True):
        for field in got:
            if field in ("conditions", "deployments"):
                for key in sorted(set(sim[field]) | set(got[field])):
                    if sim[field].get(key) != got[field].get(key):
                        found.append(Difference(step, f"{field}.{key}", sim[field].get(key),
                                                got[field].get(key)))
            elif sim[field] != got[field]:
                found.append(Difference(step, field, sim[field], got[field]))
    return found


def render(release: str, profile: str, real: Sequence[tuple[str, Observation]],
           differences: Sequence[Difference], known: Mapping[tuple[str, str], str]) -> str:
    lines = [f"## KServe {release} (real controller) vs sandbox profile \"{profile}\", Standard",
             "", "What the real controller showed after each step:", "",
             "| step | conditions | Deployments | pods | Services | HPAs |",
             "|---|---|---|---|---|---|"]
    for step, seen in real:
        conds = ", ".join(f"{k}={v}" for k, v in sorted(seen["conditions"].items())) or "-"
        deps = ", ".join(f"{k} {v}" for k, v in seen["deployments"].items()) or "-"
        lines.append(f"| {step} | {conds} | {deps} | {seen['pods']} | "
                     f"{', '.join(seen['services']) or '-'} | {', '.join(seen['hpas']) or '-'} |")
    lines += ["", "Differences (sandbox vs real) and why each is a known limit:", "",
              "| step | field | sandbox | real | known limit |", "|---|---|---|---|---|"]
    for d in differences:
        reason = known.get((d.step, d.field), "**NOT LISTED**")
        lines.append(f"| {d.step} | {d.field} | {d.sandbox} | {d.real} | {reason} |")
    if not differences:
        lines.append("| - | - | - | - | none |")
    return "\n".join(lines) + "\n"
