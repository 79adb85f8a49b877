"""The chart's ValidatingAdmissionPolicy evaluated the way kube-apiserver does, with a
real CEL evaluator (cel-python), so its expressions are tested without a cluster.

`evaluate` follows the admission plugin's order: the policy's resource rules, then its
matchConditions (a request that matches neither is not the policy's business: allowed),
then every validation (false or an evaluation error: denied, as failurePolicy Fail).
Variables are evaluated lazily in the API server; substituting each ``variables.x`` by
its expression in parentheses gives the same result, errors included.

`request_for` builds the old and new object of a request the way the API server's
update path does, from the object as stored and the merge patch sent: the main
resource keeps the stored status, the status subresource keeps everything but status,
the scale subresource shows an autoscaling/v1 Scale (no labels; ``status.selector``
is the Deployment's selector). tests/chart/admission_cases.yaml drives it; the same file
is meant to be replayed against a real kube-apiserver (the controlplane tier).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import celpy  # type: ignore[import-untyped]

Obj = dict[str, Any]
KINDS: dict[str, tuple[str, str, bool]] = {  # kind -> (group, plural, has status subresource)
    "InferenceService": ("serving.kserve.io", "inferenceservices", True),
    "LLMInferenceService": ("serving.kserve.io", "llminferenceservices", True),
    "InferenceGraph": ("serving.kserve.io", "inferencegraphs", True),
    "Deployment": ("apps", "deployments", True),
    "ScaledObject": ("keda.sh", "scaledobjects", True),
    "ServingRuntime": ("serving.kserve.io", "servingruntimes", True),
    "Event": ("", "events", False),
    "Lease": ("coordination.k8s.io", "leases", False),
}
_VARIABLE = re.compile(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Request:
    """What admission sees of one request."""

    operation: str  # CREATE | UPDATE | DELETE
    group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    username: str
    object: Obj | None
    old_object: Obj | None

    def as_cel(self) -> Obj:
        """As kube-apiserver sends it: no ``subResource`` key for the main resource."""
        sub = {"subResource": self.subresource} if self.subresource else {}
        return {"operation": self.operation, **sub,
                "resource": {"group": self.group, "resource": self.resource},
                "userInfo": {"username": self.username},
                "namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class Verdict:
    matched: bool
    denials: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.denials


@dataclass(frozen=True)
class Policy:
    spec: Mapping[str, Any]

    def matches(self, request: Request) -> bool:
        op = request.operation
        return any(_rule_matches(rule, request, op)
                   for rule in self.spec["matchConstraints"]["resourceRules"])

    def inline(self, expression: str) -> str:
        """``variables.x`` replaced by x's expression, until none is left."""
        variables = {v["name"]: v["expression"] for v in self.spec.get("variables") or []}
        for _ in range(len(variables) + 1):
            expression, count = _VARIABLE.subn(lambda m: f"({variables[m.group(1)]})",
                                               expression)
            if not count:
                return expression
        raise AssertionError("variables refer to each other in a cycle")


def _rule_matches(rule: Mapping[str, Any], request: Request, operation: str) -> bool:
    wanted = request.resource + (f"/{request.subresource}" if request.subresource else "")
    resources = set(rule["resources"])
    sub_any = f"{request.resource}/*" in resources and bool(request.subresource)
    return (request.group in rule["apiGroups"] and operation in rule["operations"]
            and (wanted in resources or sub_any))


def _run(env: celpy.Environment, expression: str, activation: Obj) -> Any:
    try:
        return env.program(env.compile(expression)).evaluate(activation)
    except celpy.CELEvalError as exc:
        return exc


def evaluate(policy: Policy, request: Request) -> Verdict:
    if not policy.matches(request):
        return Verdict(matched=False, denials=())
    env = celpy.Environment()
    activation = {"request": celpy.json_to_cel(request.as_cel()),
                  "object": celpy.json_to_cel(request.object),
                  "oldObject": celpy.json_to_cel(request.old_object)}
    for condition in policy.spec.get("matchConditions") or []:
        result = _run(env, policy.inline(condition["expression"]), activation)
        if isinstance(result, celpy.CELEvalError):
            return Verdict(matched=True, denials=(f"matchCondition failed: {result}",))
        if not _true(result):
            return Verdict(matched=False, denials=())
    denials = []
    for validation in policy.spec["validations"]:
        result = _run(env, policy.inline(validation["expression"]), activation)
        if isinstance(result, celpy.CELEvalError):
            denials.append(f"{validation['message']} [error: {result}]")
        elif not _true(result):
            denials.append(validation["message"])
    return Verdict(matched=True, denials=tuple(denials))


def _true(result: Any) -> bool:
    return isinstance(result, celpy.celtypes.BoolType) and bool(result)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _bump(new: Obj, old: Obj) -> Obj:
    meta = new.setdefault("metadata", {})
    meta["resourceVersion"] = str(int(old["metadata"].get("resourceVersion", "1")) + 1)
    if new.get("spec") != old.get("spec") and "generation" in old["metadata"]:
        meta["generation"] = int(old["metadata"]["generation"]) + 1
    return new


def scale_of(deployment: Obj) -> Obj:
    """kube-apiserver's scaleFromDeployment: what admission sees of a scale request."""
    meta = deployment["metadata"]
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    status: Obj = {"replicas": int((deployment.get("status") or {}).get("replicas", 0))}
    if selector:
        status["selector"] = selector
    return {"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": int(deployment["spec"].get("replicas", 1))},
            "status": status}


def _updated(stored: Obj, body: Obj, subresource: str, *, has_status: bool
             ) -> tuple[Obj, Obj]:
    """(oldObject, object) of a merge patch, as the server's update path builds them."""
    if subresource == "scale":
        replicas = body["spec"]["replicas"]
        scaled = merge_patch(stored, {"spec": {"replicas": replicas}})
        return scale_of(stored), scale_of(_bump(scaled, stored))
    patched = merge_patch(stored, body)
    if subresource == "status":
        new = copy.deepcopy(stored)
        new["status"] = patched.get("status") or {}
    else:
        new = patched
        new.pop("status", None)
        if has_status and "status" in stored:  # the main resource never writes status
            new["status"] = copy.deepcopy(stored["status"])
    return copy.deepcopy(stored), _bump(new, stored)


def request_for(stored: Obj, *, verb: str, username: str, subresource: str = "",
                body: Obj | None = None) -> Request:
    """The admission request of ``verb`` (patch | create | delete) on ``stored``."""
    group, plural, has_status = KINDS[stored["kind"]]
    meta = stored["metadata"]
    old: Obj | None
    new: Obj | None
    if verb == "patch":
        old, new = _updated(stored, body or {}, subresource, has_status=has_status)
    elif verb == "create":
        old, new = None, copy.deepcopy(body or stored)
    elif verb == "delete":
        old, new = copy.deepcopy(stored), None
    else:
        raise ValueError(f"unknown verb {verb!r}")
    operation = {"patch": "UPDATE", "create": "CREATE", "delete": "DELETE"}[verb]
    return Request(operation=operation, group=group, resource=plural,
                   subresource=subresource, namespace=meta.get("namespace", ""),
                   name=meta["name"], username=username, object=new, old_object=old)


def canonical(obj: Any) -> Any:
    """JSON round trip: the plain types the API server would hand to CEL."""
    return json.loads(json.dumps(obj))


@dataclass(frozen=True)
class WireRequest:
    """A case as the HTTP request a replay sends (as the service account)."""

    method: str
    path: str
    content_type: str | None
    body: Obj | None


def wire_request(stored: Obj, *, verb: str, subresource: str = "",
                 body: Obj | None = None) -> WireRequest:
    """``PATCH .../NAME[/SUB]`` (merge patch), ``POST`` the collection or ``DELETE``."""
    group, plural, _ = KINDS[stored["kind"]]
    version = stored["apiVersion"].split("/")[-1]
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    meta = stored["metadata"]
    collection = f"{base}/namespaces/{meta['namespace']}/{plural}"
    if verb == "create":
        return WireRequest("POST", collection, "application/json", body or stored)
    item = f"{collection}/{meta['name']}" + (f"/{subresource}" if subresource else "")
    if verb == "delete":
        return WireRequest("DELETE", item, None, None)
    return WireRequest("PATCH", item, "application/merge-patch+json", body)
