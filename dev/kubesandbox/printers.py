"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get``.

kubectl asks for ``as=Table`` and prints whatever columns the server sends; without a
Table it falls back to NAME and AGE only. Columns follow kubectl's built-in printers
(k8s.io/kubernetes pkg/printers/internalversion) for the built-in kinds, and the CRD's
additionalPrinterColumns for custom kinds (KServe's and Knative's own CRDs for theirs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesandbox import jsonpath
from kubesandbox.types import ResourceType

Obj = dict[str, Any]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    cell: Callable[[Obj], Any]


def _path(path: str, default: Any = None) -> Callable[[Obj], Any]:
    def cell(obj: Obj) -> Any:
        found = jsonpath.find(obj, path)
        if not found:
            return default
        return ",".join(str(f) for f in found) if len(found) != 1 else found[0]
    return cell


def _pod_status(obj: Obj) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str((obj.get("status") or {}).get("phase") or "Unknown")


def _pod_ready(obj: Obj) -> str:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _restarts(obj: Obj) -> int:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def _ports(obj: Obj) -> str:
    ports = (obj.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _involved(obj: Obj) -> str:
    ref = obj.get("involvedObject") or obj.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _count(field: str) -> Callable[[Obj], int]:
    return lambda obj: len(obj.get(field) or {})


def _hpa_ref(obj: Obj) -> str:
    ref = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _deploy_ready(obj: Obj) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 1)}"


_S, _I = "string", "integer"
BUILTIN: dict[tuple[str, str], list[Column]] = {
    ("", "pods"): [Column("Ready", _S, _pod_ready), Column("Status", _S, _pod_status),
                   Column("Restarts", _I, _restarts)],
    ("apps", "deployments"): [
        Column("Ready", _S, _deploy_ready),
        Column("Up-to-date", _I, _path(".status.updatedReplicas", 0)),
        Column("Available", _I, _path(".status.availableReplicas", 0))],
    ("", "services"): [Column("Type", _S, _path(".spec.type")),
                       Column("Cluster-IP", _S, _path(".spec.clusterIP")),
                       Column("Port(s)", _S, _ports)],
    ("", "namespaces"): [Column("Status", _S, _path(".status.phase"))],
    ("", "configmaps"): [Column("Data", _I, _count("data"))],
    ("", "secrets"): [Column("Type", _S, _path(".type")), Column("Data", _I, _count("data"))],
    ("autoscaling", "horizontalpodautoscalers"): [
        Column("Reference", _S, _hpa_ref), Column("MinPods", _I, _path(".spec.minReplicas")),
        Column("MaxPods", _I, _path(".spec.maxReplicas")),
        Column("Replicas", _I, _path(".status.currentReplicas", 0))],
    ("coordination.k8s.io", "leases"): [Column("Holder", _S, _path(".spec.holderIdentity"))],
    ("serving.kserve.io", "inferenceservices"): [
        Column("URL", _S, _path(".status.url")),
        Column("Ready", _S, _path(".status.conditions[?(@.type=='Ready')].status")),
        Column("Prev", _I, _path(
            ".status.components.predictor.traffic[?(@.tag=='prev')].percent")),
        Column("Latest", _I, _path(
            ".status.components.predictor.traffic[?(@.latestRevision==true)].percent"))],
    ("serving.knative.dev", "services"): [
        Column("URL", _S, _path(".status.url")),
        Column("LatestCreated", _S, _path(".status.latestCreatedRevisionName")),
        Column("LatestReady", _S, _path(".status.latestReadyRevisionName")),
        Column("Ready", _S, _path(".status.conditions[?(@.type=='Ready')].status")),
        Column("Reason", _S, _path(".status.conditions[?(@.type=='Ready')].reason"))],
}
EVENT_COLUMNS = [Column("Type", _S, _path(".type")), Column("Reason", _S, _path(".reason")),
                 Column("Object", _S, _involved), Column("Message", _S, _path(".message"))]


def human_age(seconds: float) -> str:
    """kubectl's duration.HumanDuration, so ages read as they would on a cluster."""
    s = max(int(seconds), 0)
    m, h = s // 60, s // 3600
    steps = [
        (s < 120, f"{s}s"),
        (m < 10, f"{m}m{s % 60}s" if s % 60 else f"{m}m"),
        (m < 180, f"{m}m"),
        (h < 8, f"{h}h{m % 60}m" if m % 60 else f"{h}h"),
        (h < 48, f"{h}h"),
        (h < 24 * 8, f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"),
        (h < 24 * 365 * 2, f"{h // 24}d"),
    ]
    return next((text for due, text in steps if due), f"{h // (24 * 365)}y")


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _age(field: str, now: datetime) -> Callable[[Obj], str]:
    def cell(obj: Obj) -> str:
        meta_or_top = obj["metadata"] if field == "creationTimestamp" else obj
        when = _timestamp(meta_or_top.get(field)) or _timestamp(
            obj["metadata"].get("creationTimestamp"))
        return "<unknown>" if when is None else human_age((now - when).total_seconds())
    return cell


def columns(rtype: ResourceType, now: datetime) -> list[Column]:
    name = Column("Name", "string", lambda o: o["metadata"]["name"])
    age = Column("Age", "string", _age("creationTimestamp", now))
    if rtype.plural == "events":
        return [Column("Last Seen", "string", _age("lastTimestamp", now)), *EVENT_COLUMNS]
    if rtype.printer_columns:
        custom = [Column(n, t, _age("creationTimestamp", now) if t == "date" else _path(p))
                  for n, t, p in rtype.printer_columns]
        return [name, *custom] if any(c.name == "Age" for c in custom) else [
            name, *custom, age]
    return [name, *BUILTIN.get(rtype.storage_key, []), age]


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Metadata":
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"]}
    return obj


def table(rtype: ResourceType, items: list[Obj], *, now: datetime, resource_version: str,
          include: str = "Metadata", headers: bool = True) -> Obj:
    cols = columns(rtype, now)
    rows = [{"cells": [_cell(c, o) for c in cols], "object": _row_object(o, include)}
            for o in items]
    out: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": resource_version}, "rows": rows}
    if headers:
        out["columnDefinitions"] = [{"name": c.name, "type": c.type, "format":
                                     "name" if c.name == "Name" else "", "description": "",
                                     "priority": 0} for c in cols]
    return out


def _cell(column: Column, obj: Obj) -> Any:
    value = column.cell(obj)
    return "<none>" if value in (None, "") and column.type == "string" else value


def wants_table(accept: str) -> bool:
    return "as=Table" in accept
