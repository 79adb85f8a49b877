"""CustomResourceDefinitions: validating one, and serving its kind once created.

The real apiextensions-apiserver answers for a new CRD within a second or so, after the
NamesAccepted and Established conditions turn True; here both happen on create.
"""

from __future__ import annotations

from typing import Any

from kubesandbox.apierror import invalid
from kubesandbox.objects import rfc3339
from kubesandbox.types import Registry, crd_types

Obj = dict[str, Any]
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


def storage_key(crd: Obj) -> tuple[str, str]:
    spec = crd.get("spec") or {}
    return (str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", "")))


def _causes(crd: Obj) -> list[tuple[str, str]]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes = [(f"spec.{f}", "Required value") for f in ("group", "scope") if not spec.get(f)]
    causes += [(f"spec.names.{f}", "Required value") for f in ("plural", "kind")
               if not names.get(f)]
    versions = spec.get("versions") or []
    if not versions:
        causes.append(("spec.versions", "Required value: must have at least one version"))
    if sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(("spec.versions", "Invalid value: must have exactly one version "
                       "marked as storage version"))
    if spec.get("scope") not in (None, "Namespaced", "Cluster"):
        causes.append(("spec.scope", f"Unsupported value: {spec.get('scope')!r}"))
    group, plural = storage_key(crd)
    if not causes and crd["metadata"]["name"] != f"{plural}.{group}":
        causes.append(("metadata.name", f'Invalid value: "{crd["metadata"]["name"]}": must '
                       f'be spec.names.plural+"."+spec.group'))
    return causes


def accept(registry: Registry, crd: Obj) -> Obj:
    """The CRD as stored: validated, with the status the apiextensions controllers set."""
    causes = _causes(crd)
    if causes:
        raise invalid("CustomResourceDefinition", "apiextensions.k8s.io",
                      crd["metadata"].get("name", ""), causes)
    names = crd["spec"]["names"]
    when = crd["metadata"]["creationTimestamp"]
    crd["status"] = {
        "acceptedNames": {k: v for k, v in names.items()},
        "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
        "conditions": [
            {"type": t, "status": "True", "reason": r, "message": m,
             "lastTransitionTime": when}
            for t, r, m in (("NamesAccepted", "NoConflicts", "no conflicts found"),
                            ("Established", "InitialNamesAccepted",
                             "the initial names have been accepted"))],
    }
    return crd


def serve(registry: Registry, crd: Obj) -> None:
    for rtype in crd_types(crd):
        registry.register(rtype)


__all__ = ["CRD_KEY", "accept", "rfc3339", "serve", "storage_key"]
