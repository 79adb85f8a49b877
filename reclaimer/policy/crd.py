"""The ReclaimPolicy CustomResourceDefinition as data (pure).

``scripts/gen_crd.py`` writes it to the Helm chart; ``reclaimer sandbox`` installs it so
``kubectl get rp -A`` works against the sandbox.
"""

from __future__ import annotations

from typing import Any

from reclaimer.policy.spec_fields import crd_schema

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
