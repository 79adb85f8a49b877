"""Pure rules for object metadata on create and update, as the real registry strategies
apply them (k8s.io/apiserver pkg/registry/rest: BeforeCreate, BeforeUpdate)."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from kubesandbox.apierror import ApiError, invalid
from kubesandbox.jsoncopy import deep_copy
from kubesandbox.types import ResourceType

Obj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
# Same alphabet as k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits.
_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Metadata only the server writes; a client's values are replaced by the stored ones.
SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
               "generation", "namespace", "name", "selfLink")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_RAND_ALPHABET) for _ in range(length))


def _label_causes(meta: Obj) -> list[tuple[str, str]]:
    causes = []
    for key, value in (meta.get("labels") or {}).items():
        prefix, _, name = str(key).rpartition("/")
        if not _LABEL_NAME.match(name) or (prefix and not _SUBDOMAIN.match(prefix)):
            causes.append((f"metadata.labels[{key}]", "Invalid value: a label key must be "
                           "a qualified name"))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append((f"metadata.labels[{key}]", f"Invalid value: {value!r}: a valid "
                           "label value must be 63 characters or less, alphanumeric, "
                           "'-', '_' or '.'"))
    return causes


def _owner_causes(meta: Obj) -> list[tuple[str, str]]:
    causes = []
    for i, ref in enumerate(meta.get("ownerReferences") or []):
        for field in ("apiVersion", "kind", "name", "uid"):
            if not isinstance(ref, dict) or not ref.get(field):
                causes.append((f"metadata.ownerReferences[{i}].{field}", "Required value"))
    return causes


def validate(rtype: ResourceType, obj: Obj) -> None:
    """422 Invalid naming every bad field, before anything is stored."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise invalid(rtype.kind, rtype.group, "", [("metadata", "Required value")])
    name = meta.get("name") or ""
    causes: list[tuple[str, str]] = []
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        causes.append(("metadata.name", f"Invalid value: {name!r}: a lowercase RFC 1123 "
                       "subdomain must consist of lower case alphanumeric characters, "
                       "'-' or '.'"))
    for field in ("labels", "annotations"):
        if meta.get(field) is not None and not isinstance(meta.get(field), dict):
            causes.append((f"metadata.{field}", "Invalid value: must be a map"))
    if not causes:
        causes = _label_causes(meta) + _owner_causes(meta)
    if causes:
        raise invalid(rtype.kind, rtype.group, name, causes)
    if rtype.storage_key == ("coordination.k8s.io", "leases"):
        _validate_lease(rtype, name, obj.get("spec"))


_MICRO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_LEASE_TIMES = ("acquireTime", "renewTime")
_LEASE_INTS = ("leaseDurationSeconds", "leaseTransitions")


def _validate_lease(rtype: ResourceType, name: str, spec: Any) -> None:
    """The fields the project writes: a time that is not RFC 3339 does not decode (400,
    as the real server's JSON decoder); a count that is not an integer >= 0 is 422."""
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise ApiError(400, f"Lease in version \"v1\" cannot be handled as a Lease: "
                       f"spec: expected an object, got {spec!r}")
    for key in _LEASE_TIMES:
        value = spec.get(key)
        if value is not None and (not isinstance(value, str) or not _MICRO_TIME.match(value)):
            raise ApiError(400, f"Lease in version \"v1\" cannot be handled as a Lease: "
                           f"parsing time {value!r} as RFC 3339 (spec.{key}) failed")
    causes = [(f"spec.{key}", f"Invalid value: {spec[key]!r}: must be an integer >= 0")
              for key in _LEASE_INTS if spec.get(key) is not None
              and (isinstance(spec[key], bool) or not isinstance(spec[key], int)
                   or spec[key] < 0)]
    if causes:
        raise invalid(rtype.kind, rtype.group, name, causes)


def check_type(rtype: ResourceType, obj: Obj) -> None:
    """400 when the body names another kind than the URL, as the real decoder does."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if kind and kind != rtype.kind:
        raise ApiError(400, f"the body kind {kind!r} does not match the resource "
                       f"{rtype.plural!r} (kind {rtype.kind!r})")
    if api_version and api_version.rpartition("/")[0] != rtype.group:
        raise ApiError(400, f"the body apiVersion {api_version!r} does not match the group "
                       f"{rtype.group!r} of {rtype.plural!r}")


def resolve_namespace(rtype: ResourceType, obj: Obj, namespace: str | None) -> str:
    """The storage namespace ('' for cluster-scoped); a body/URL mismatch is a 400."""
    body_ns = (obj.get("metadata") or {}).get("namespace")
    if not rtype.namespaced:
        return ""
    if namespace and body_ns and body_ns != namespace:
        raise ApiError(400, "the namespace of the provided object does not match the "
                       "namespace sent on the request")
    chosen = namespace or body_ns
    if not chosen:
        raise ApiError(400, f"metadata.namespace is required for namespaced {rtype.plural}")
    return str(chosen)


def prepare_create(rtype: ResourceType, obj: Obj, namespace: str, now: datetime) -> Obj:
    out = deep_copy(obj)
    meta = out.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = f"{meta['generateName']}{random_suffix()}"
    out["apiVersion"], out["kind"] = rtype.api_version, rtype.kind
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion",
                "selfLink", "managedFields"):
        meta.pop(key, None)
    if namespace:
        meta["namespace"] = namespace
    meta.update(uid=str(uuid.uuid4()), creationTimestamp=rfc3339(now), generation=1)
    if rtype.has_status:
        out.pop("status", None)
    _defaults(rtype, out)
    return out


def _defaults(rtype: ResourceType, obj: Obj) -> None:
    """The few defaults clients read back: pod/namespace phase, namespace name label,
    secret and service types."""
    if (rtype.group, rtype.plural) == ("", "secrets"):
        obj.setdefault("type", "Opaque")
    elif (rtype.group, rtype.plural) == ("", "services"):
        obj.setdefault("spec", {}).setdefault("type", "ClusterIP")
    elif (rtype.group, rtype.plural) == ("", "pods"):
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif (rtype.group, rtype.plural) == ("", "namespaces"):
        obj["status"] = {"phase": "Active"}
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})


def content(obj: Obj) -> Obj:
    """Everything that counts toward generation: not metadata, not status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion",
                                                       "kind")}


def merge_update(rtype: ResourceType, old: Obj, new: Obj, subresource: str | None) -> Obj:
    """The object to store for a PUT of ``new`` over ``old`` (spec or status write)."""
    if subresource == "status":
        out = deep_copy(old)
        if "status" in new:
            out["status"] = deep_copy(new["status"])
        else:
            out.pop("status", None)
        return out
    out = deep_copy(new)
    out["apiVersion"], out["kind"] = rtype.api_version, rtype.kind
    meta = out.setdefault("metadata", {})
    for key in SERVER_META:
        if key in old["metadata"]:
            meta[key] = old["metadata"][key]
        else:
            meta.pop(key, None)
    meta.pop("managedFields", None)
    if rtype.has_status:
        if "status" in old:
            out["status"] = deep_copy(old["status"])
        else:
            out.pop("status", None)
    if content(out) != content(old):
        meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
    return out


def same_state(old: Obj, new: Obj) -> bool:
    """A no-op write: the real server then keeps the resourceVersion and sends no event."""
    def strip(obj: Obj) -> Obj:
        meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
        return {**obj, "metadata": meta}
    return strip(old) == strip(new)
