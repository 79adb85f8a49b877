"""TokenReview and SubjectAccessReview, the way an API server answers them, for tests.

reclaimer's owners' API (issue 19) authenticates a caller's bearer token with a
TokenReview and authorises with a SubjectAccessReview. The sandbox knows a few users,
each with a token and RBAC-like rules; the defaults are the two scenario users of the
issue's acceptance: ``alice`` may get and patch InferenceServices in ``team-a``,
``bob`` may only get them. Anything else (an unknown token) is unauthenticated.

Only POST (``create``) of the two review kinds is served; the answer echoes the spec
with ``status`` filled in, as the real API server does. Faults still apply to them
through the ordinary fault table (verb ``create``, resources ``tokenreviews`` and
``subjectaccessreviews``), so a test can make the reviews fail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
PATHS = {TOKEN_REVIEWS: "tokenreviews", ACCESS_REVIEWS: "subjectaccessreviews"}


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...]
    group: str
    resource: str
    namespaces: tuple[str, ...]

    def allows(self, attrs: Mapping[str, Any]) -> bool:
        return (attrs.get("verb") in self.verbs and attrs.get("group", "") == self.group
                and attrs.get("resource") == self.resource
                and attrs.get("namespace") in self.namespaces)


@dataclass(frozen=True)
class User:
    name: str
    token: str
    groups: tuple[str, ...] = ("system:authenticated",)
    rules: tuple[Rule, ...] = ()


def _isvc_rule(verbs: tuple[str, ...], namespace: str) -> Rule:
    return Rule(verbs=verbs, group="serving.kserve.io", resource="inferenceservices",
                namespaces=(namespace,))


DEFAULT_USERS = (
    User("alice", "alice-token", rules=(_isvc_rule(("get", "list", "patch"), "team-a"),)),
    User("bob", "bob-token", rules=(_isvc_rule(("get", "list"), "team-a"),)),
)


@dataclass
class Reviews:
    users: tuple[User, ...] = DEFAULT_USERS
    answered: list[str] = field(default_factory=list)

    def handles(self, path: str) -> str | None:
        """The plural this path reviews, or None for any other path."""
        return PATHS.get(path.split("?", 1)[0].rstrip("/"))

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            review = json.loads(body or b"null")
        except ValueError:
            return 400, failure_status(400, "request body is not JSON")
        if not isinstance(review, dict) or not isinstance(review.get("spec"), dict):
            return 400, failure_status(400, "a review needs a spec")
        plural = self.handles(path)
        self.answered.append(str(plural))
        status = (self._token(review["spec"]) if plural == "tokenreviews"
                  else self._access(review["spec"]))
        return 201, {**review, "status": status}

    def _token(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        user = next((u for u in self.users if u.token == spec.get("token")), None)
        if user is None:
            return {"authenticated": False, "error": "invalid bearer token"}
        return {"authenticated": True, "user": {"username": user.name, "uid": f"uid-{user.name}",
                                                "groups": list(user.groups)}}

    def _access(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        user = next((u for u in self.users if u.name == spec.get("user")), None)
        attrs = spec.get("resourceAttributes") or {}
        if user is not None and any(rule.allows(attrs) for rule in user.rules):
            return {"allowed": True, "reason": "sandbox rule"}
        return {"allowed": False, "reason": "no sandbox rule allows it"}


def failure_status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "code": code}
