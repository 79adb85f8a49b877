"""The accepted shape of a ReclaimPolicy (docs/design.md §2), for files, and its CRD.

`SPEC_FIELDS` is ``spec`` as files accept it; `CR_SPEC_FIELDS` is the same without
``namespaceSelector`` (a CR governs only its own namespace). `crd_schema()` is the CRD
version's ``openAPIV3Schema``; the Helm chart's test keeps ``helm/reclaimer/crds`` equal to
it. Rules that span fields (schedule needs timeZone, In needs values, ...) live in
`reclaimer.policy.schema`, which uses these shapes first.

`crd()` is the whole ReclaimPolicy CustomResourceDefinition as data: ``scripts/gen_crd.py``
writes it to the Helm chart; ``reclaimer sandbox`` installs it so ``kubectl get rp -A``
works against the sandbox.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reclaimer.policy.fields import Field, openapi

API_VERSION = "reclaimer.io/v1alpha1"
KIND = "ReclaimPolicy"

_DURATION = "a duration such as 30m, 1h30m, 90s or 2d"

KINDS = ("InferenceService", "LLMInferenceService", "InferenceGraph")

SELECTOR = Field("object", "LabelSelector over ISVC labels; {} selects all.", properties={
    "kinds": Field("array", "KServe kinds governed; default [InferenceService] only.",
                   items=Field("string", enum=KINDS), min_items=1),
    "matchLabels": Field("map", "Labels that must all be equal.", format="label-value",
                         key_format="label-key"),
    "matchExpressions": Field("array", "Requirements that must all hold.", items=Field(
        "object", "One requirement.", properties={
            "key": Field("string", "Label key.", format="label-key"),
            "operator": Field("string", "In, NotIn, Exists or DoesNotExist.",
                              enum=("In", "NotIn", "Exists", "DoesNotExist")),
            "values": Field("array", "Non-empty for In/NotIn; empty for Exists/DoesNotExist.",
                            items=Field("string", format="label-value")),
        }, required=("key", "operator"))),
})

NAMESPACE_SELECTOR = Field("object", "Files only: namespaces; none listed = all.", properties={
    "matchNames": Field("array", "Namespace names.", items=Field("string", format="dns-label")),
})

WINDOW = Field("object", "Keep running from each start edge to the next stop edge.", properties={
    "start": Field("string", "Cron expression (5 fields) in timeZone.", format="cron"),
    "stop": Field("string", "Cron expression (5 fields) in timeZone.", format="cron"),
}, required=("start", "stop"))

IDLE = Field("object", "Stop a service that stayed idle for `after`.", properties={
    "after": Field("string", f"Idle this long, then stop: {_DURATION}; or auto (learned "
                   "per service from its own idle gaps).", format="duration-or-auto"),
    "learnFrom": Field("string", f"With after: auto, the history learned from; default "
                       f"14d, at most 31d; {_DURATION}.", format="duration"),
    "autoMin": Field("string", f"With after: auto, the shortest timeout; default 10m; "
                     f"{_DURATION}.", format="duration"),
    "autoMax": Field("string", f"With after: auto, the longest timeout, and the one used "
                     f"while none is learned; default 2h; {_DURATION}.", format="duration"),
    "maxRequests": Field("integer", "Requests allowed in the window while still idle; "
                         "default 0.", minimum=0),
    "gpuUtilizationBelow": Field("number", "Percent the GPU must stay below; default 5.",
                                 minimum=0, maximum=100),
    "minUptime": Field("string", f"Never idle-stop sooner after a start; default 15m; "
                       f"{_DURATION}.", format="duration"),
    "during": Field("string", "always, or offHours (only outside schedule windows).",
                    enum=("always", "offHours")),
}, required=("after",))

NOTIFY = Field("object", "Tell owners ahead of a planned stop (StopPlanned Event, sinks).",
               properties={
    "before": Field("string", f"This long before a schedule stop or an idle timeout; "
                    f"{_DURATION}.", format="duration"),
    "sinks": Field("array", "Names of sinks from the service's notify.sinks config; "
                   "none = its default sinks.", items=Field("string", format="dns-label")),
}, required=("before",))

_SPEC = {
    "selector": SELECTOR,
    "namespaceSelector": NAMESPACE_SELECTOR,
    "timeZone": Field("string", "IANA time zone of the schedule; required with schedule.",
                      format="time-zone"),
    "schedule": Field("array", "Windows in which services keep running.", items=WINDOW,
                      min_items=1),
    "exceptDates": Field("array", "Local dates (YYYY-MM-DD) whose start edges are skipped.",
                         items=Field("string", format="date")),
    "idle": IDLE,
    "busyAtStop": Field("string", "At a schedule stop while requests flow: defer or force.",
                        enum=("defer", "force")),
    "maxDefer": Field("string", f"Defer a busy stop at most this long; {_DURATION}.",
                      format="duration"),
    "mode": Field("string", "enforce, or dryRun (decide and record, never act).",
                  enum=("enforce", "dryRun")),
    "priority": Field("integer", "The highest wins when several policies match one service."),
    "notify": NOTIFY,
    "maxSnooze": Field("string", f"Longest snooze an owner may ask for; default 12h; "
                       f"{_DURATION}.", format="duration"),
}

SPEC_FIELDS = Field("object", "What to reclaim, when, and how.", properties=_SPEC)
CR_SPEC_FIELDS = Field("object", SPEC_FIELDS.description, properties={
    k: v for k, v in _SPEC.items() if k != "namespaceSelector"})

_OBJECT_META = ("name", "namespace", "labels", "annotations", "uid", "resourceVersion",
                "generation", "creationTimestamp", "deletionTimestamp",
                "deletionGracePeriodSeconds", "managedFields", "finalizers", "ownerReferences",
                "generateName", "selfLink")
METADATA = Field("object", "Kubernetes ObjectMeta.", properties={
    **{key: Field("any") for key in _OBJECT_META},
    "name": Field("string", "DNS-1123 subdomain.", format="dns-subdomain"),
    "namespace": Field("string", "DNS-1123 label.", format="dns-label"),
    "labels": Field("map"),
    "annotations": Field("map"),
}, required=("name",))


# The API server has already validated a CR's ObjectMeta, and a newer server may add
# fields to it, so only a file's metadata is held to the known list.
CLUSTER_METADATA = replace(METADATA, extra_keys=True)


def document_fields(*, cluster: bool) -> Field:
    """The whole document: a CR read from the cluster, or a file document."""
    return Field("object", f"A {KIND}.", properties={
        "apiVersion": Field("string", enum=(API_VERSION,)),
        "kind": Field("string", enum=(KIND,)),
        "metadata": CLUSTER_METADATA if cluster else METADATA,
        "spec": CR_SPEC_FIELDS if cluster else SPEC_FIELDS,
        "status": Field("any"),
    }, required=("apiVersion", "kind", "metadata", "spec"))


def crd_schema() -> dict[str, Any]:
    """``openAPIV3Schema`` for the v1alpha1 version of the ReclaimPolicy CRD."""
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": openapi(CR_SPEC_FIELDS),
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
        "required": ["spec"],
    }


# --- the CustomResourceDefinition -------------------------------------------------

CONDITION = {
    "type": "object",
    "required": ["type", "status", "lastTransitionTime", "reason", "message"],
    "properties": {
        "type": {"type": "string", "maxLength": 316},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "maxLength": 1024},
        "message": {"type": "string", "maxLength": 32768},
    },
}
STATUS = {
    "type": "object",
    "description": "Written by reclaimer through the status subresource.",
    "properties": {
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
        "matchedServices": {"type": "integer", "minimum": 0,
                            "description": "InferenceServices this policy governs now."},
        "nextTransition": {"type": "string", "format": "date-time",
                           "description": "The next schedule edge of this policy (RFC 3339)."},
        "conditions": {
            "type": "array",
            "description": "Valid: False with the first error when the spec is invalid.",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
            "items": CONDITION,
        },
    },
}
COLUMNS = [
    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
    {"name": "Next", "type": "string", "format": "date-time",
     "jsonPath": ".status.nextTransition"},
    {"name": "Services", "type": "integer", "jsonPath": ".status.matchedServices"},
    {"name": "Valid", "type": "string",
     "jsonPath": '.status.conditions[?(@.type=="Valid")].status'},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def schema() -> dict[str, Any]:
    return {**crd_schema(), "properties": {**crd_schema()["properties"], "status": STATUS}}


def crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "reclaimpolicies.reclaimer.io",
                     "labels": {"app.kubernetes.io/name": "reclaimer",
                                "app.kubernetes.io/part-of": "reclaimer"}},
        "spec": {
            "group": "reclaimer.io",
            "scope": "Namespaced",
            "names": {"kind": "ReclaimPolicy", "listKind": "ReclaimPolicyList",
                      "plural": "reclaimpolicies", "singular": "reclaimpolicy",
                      "shortNames": ["rp"]},
            "versions": [{
                "name": "v1alpha1", "served": True, "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": COLUMNS,
                "schema": {"openAPIV3Schema": schema()},
            }],
        },
    }
