"""The ReclaimPolicy CRD's schema as a jsonschema validator for policy documents.

Kubernetes prunes unknown fields of a structural schema instead of rejecting them, and
`kubectl apply` (server-side field validation "Strict") rejects them. jsonschema does
neither, so `strict_schema` adds ``additionalProperties: false`` to every object that
lists its properties: a typo like ``spec.idle.aftr`` fails here as it would on apply.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml

from tests.chart.helm import CHART

CRD_FILE = CHART / "crds" / "reclaimpolicy.yaml"
FILE_ONLY_FIELDS = ("namespaceSelector",)


def crd() -> Mapping[str, Any]:
    doc: Mapping[str, Any] = yaml.safe_load(CRD_FILE.read_text())
    return doc


def version_schema(version: str = "v1alpha1") -> Mapping[str, Any]:
    (served,) = [v for v in crd()["spec"]["versions"] if v["name"] == version]
    schema: Mapping[str, Any] = served["schema"]["openAPIV3Schema"]
    return schema


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    tight = copy.deepcopy(dict(schema))
    _close(tight)
    return tight


def _close(node: dict[str, Any]) -> None:
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    for child in node.get("properties", {}).values():
        _close(child)
    if isinstance(node.get("items"), dict):
        _close(node["items"])


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(strict_schema(version_schema()))


def errors(document: Mapping[str, Any]) -> list[str]:
    """``path: message`` for each violation, like the CLI's field-naming errors."""
    found = validator().iter_errors(document)
    return sorted(f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in found)


def as_custom_resource(document: Mapping[str, Any]) -> dict[str, Any]:
    """A policy file's document minus the file-only fields, i.e. what a CR may hold."""
    cr = copy.deepcopy(dict(document))
    spec = cr.get("spec")
    if isinstance(spec, dict):
        for name in FILE_ONLY_FIELDS:
            spec.pop(name, None)
    return cr


def policy_documents(directory: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(``file[index]``, document) for every document of every YAML file, sorted."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in files:
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc is not None:
                yield f"{path.name}[{index}]", doc


def structural_problems(node: Mapping[str, Any], path: str = "") -> list[str]:
    """What the API server would refuse in a CRD schema (apiextensions.k8s.io/v1
    "structural schema" rules), found offline: kubernetes-validate checks the CRD object's
    shape but not these."""
    problems = _node_problems(node, path or "(root)")
    for key, sub in (node.get("properties") or {}).items():
        problems += structural_problems(sub, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), Mapping):
            problems += structural_problems(node[key], f"{path}[{key}]")
    return problems


def _node_problems(node: Mapping[str, Any], path: str) -> list[str]:
    free = node.get("x-kubernetes-preserve-unknown-fields") or node.get(
        "x-kubernetes-int-or-string")
    checks = {
        "has no type": not node.get("type") and not free,
        "sets both properties and additionalProperties": (
            "properties" in node and "additionalProperties" in node),
        "sets additionalProperties: false": node.get("additionalProperties") is False,
        "sets uniqueItems: true": node.get("uniqueItems") is True,
        "uses $ref": "$ref" in node,
    }
    return [f"{path}: {problem}" for problem, bad in checks.items() if bad]
