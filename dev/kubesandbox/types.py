"""The resource registry: which kinds the sandbox serves, as discovery reports them.

Built-in kinds are constants here; a created CustomResourceDefinition registers its
served versions at run time (see ``crd_types``), as the real apiextensions server does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from kubesandbox.apierror import ApiError

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update",
             "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()
    singular: str = ""
    categories: tuple[str, ...] = ()
    # CRD additionalPrinterColumns as (name, type, jsonPath); see printers.py.
    printer_columns: tuple[tuple[str, str, str], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> tuple[str, str]:
        """Versions of one group/plural share storage, as in etcd."""
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _rt(  # noqa: PLR0913 - one row of the built-in table
        group: str, version: str, plural: str, kind: str, *, namespaced: bool = True,
        sub: tuple[str, ...] = (), short: tuple[str, ...] = (),
        categories: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, frozenset(sub), short,
                        kind.lower(), categories)


NAMESPACES = _rt("", "v1", "namespaces", "Namespace", namespaced=False, sub=("status",),
                 short=("ns",))
PODS = _rt("", "v1", "pods", "Pod", sub=("status",), short=("po",), categories=("all",))
SERVICES = _rt("", "v1", "services", "Service", sub=("status",), short=("svc",),
               categories=("all",))
EVENTS = _rt("", "v1", "events", "Event", short=("ev",))
CONFIGMAPS = _rt("", "v1", "configmaps", "ConfigMap", short=("cm",))
SECRETS = _rt("", "v1", "secrets", "Secret")
DEPLOYMENTS = _rt("apps", "v1", "deployments", "Deployment", sub=("status", "scale"),
                  short=("deploy",), categories=("all",))
HPAS = _rt("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
           sub=("status",), short=("hpa",), categories=("all",))
LEASES = _rt("coordination.k8s.io", "v1", "leases", "Lease")
EVENTS_V1 = _rt("events.k8s.io", "v1", "events", "Event", short=("ev",))
INFERENCESERVICES = _rt("serving.kserve.io", "v1beta1", "inferenceservices",
                        "InferenceService", sub=("status",), short=("isvc",))
SERVINGRUNTIMES = _rt("serving.kserve.io", "v1alpha1", "servingruntimes", "ServingRuntime",
                      sub=("status",))
INFERENCEGRAPHS = _rt("serving.kserve.io", "v1alpha1", "inferencegraphs", "InferenceGraph",
                      sub=("status",), short=("ig",))
LLMINFERENCESERVICES = _rt("serving.kserve.io", "v1alpha1", "llminferenceservices",
                           "LLMInferenceService", sub=("status",), short=("llmisvc",))
KSERVICES = _rt("serving.knative.dev", "v1", "services", "Service", sub=("status",),
                short=("kservice", "ksvc"), categories=("all", "knative", "serving"))
VIRTUALSERVICES = _rt("networking.istio.io", "v1beta1", "virtualservices", "VirtualService",
                      short=("vs",))
CRDS = _rt("apiextensions.k8s.io", "v1", "customresourcedefinitions",
           "CustomResourceDefinition", namespaced=False, sub=("status",),
           short=("crd", "crds"))

BUILTIN: tuple[ResourceType, ...] = (
    NAMESPACES, PODS, SERVICES, EVENTS, CONFIGMAPS, SECRETS, DEPLOYMENTS, HPAS, LEASES,
    EVENTS_V1, INFERENCESERVICES, SERVINGRUNTIMES, INFERENCEGRAPHS, LLMINFERENCESERVICES,
    KSERVICES,
    VIRTUALSERVICES, CRDS)

# The group versions kubectl should prefer when a group serves several.
PREFERRED: dict[str, str] = {"serving.kserve.io": "v1beta1"}


class Registry:
    """Thread-safe map of served resources; lookups fail with the 404 a client would get."""

    def __init__(self, types: tuple[ResourceType, ...] = BUILTIN) -> None:
        self._lock = threading.Lock()
        self._by_gvp: dict[tuple[str, str, str], ResourceType] = {}
        for rtype in types:
            self.register(rtype)

    def register(self, rtype: ResourceType) -> None:
        with self._lock:
            self._by_gvp[(rtype.group, rtype.version, rtype.plural)] = rtype

    def unregister(self, group: str, plural: str) -> list[ResourceType]:
        """Forget every version of group/plural; returns what was removed."""
        with self._lock:
            gone = [t for t in self._by_gvp.values() if t.storage_key == (group, plural)]
            for rtype in gone:
                del self._by_gvp[(rtype.group, rtype.version, rtype.plural)]
            return gone

    def get(self, group: str, version: str, plural: str) -> ResourceType:
        with self._lock:
            found = self._by_gvp.get((group, version, plural))
        if found is None:
            raise ApiError(404, "the server could not find the requested resource")
        return found

    def by_kind(self, api_version: str, kind: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        for rtype in self.all():
            if (rtype.group, rtype.version, rtype.kind) == (group, version, kind):
                return rtype
        raise ApiError(404, f'no matches for kind "{kind}" in version "{api_version}"')

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._by_gvp.values())

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions, preferred version first (discovery order)."""
        out: dict[str, list[str]] = {}
        for rtype in self.all():
            versions = out.setdefault(rtype.group, [])
            if rtype.version not in versions:
                versions.append(rtype.version)
        for group, versions in out.items():
            versions.sort(key=lambda v: (v != PREFERRED.get(group, v), _version_rank(v)))
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.all() if (t.group, t.version) == (group, version)]


def _version_rank(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA before beta before alpha, higher numbers first."""
    major, _, rest = version[1:].partition("alpha" if "alpha" in version else "beta")
    stage = 0 if "alpha" not in version and "beta" not in version else (
        1 if "beta" in version else 2)
    try:
        return (stage, -int(major), -int(rest or 0))
    except ValueError:
        return (3, 0, 0)


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The ResourceTypes a CustomResourceDefinition serves, one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subs = frozenset(k for k in (version.get("subresources") or {}) if k in
                         ("status", "scale"))
        out.append(ResourceType(
            spec.get("group", ""), version["name"], names.get("plural", ""),
            names.get("kind", ""), spec.get("scope", "Namespaced") == "Namespaced", subs,
            tuple(names.get("shortNames") or ()), names.get("singular") or
            names.get("kind", "").lower(), tuple(names.get("categories") or ()),
            tuple((c.get("name", ""), c.get("type", "string"), c.get("jsonPath", ""))
                  for c in version.get("additionalPrinterColumns") or [])))
    return out
