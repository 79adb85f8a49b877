"""Who is calling, and may they? TokenReview and SubjectAccessReview (issue 19).

The owners' API trusts nothing the request says about its caller: the bearer token
goes to the API server (TokenReview) and the identity it answers goes back to it
(SubjectAccessReview), with the caller's groups, uid and extra, so every RBAC rule a
cluster has applies as for ``kubectl``. Any failure to ask raises `ClusterError`:
the caller of this module answers 503 and changes nothing (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reclaimer import kserve
from reclaimer.errors import ClusterError
from reclaimer.kube.rest import Kind, Rest
from reclaimer.model import EMPTY, ServiceRef

TOKEN_REVIEW = Kind("authentication.k8s.io", "v1", "tokenreviews", namespaced=False)
ACCESS_REVIEW = Kind("authorization.k8s.io", "v1", "subjectaccessreviews", namespaced=False)


@dataclass(frozen=True)
class Caller:
    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default=EMPTY)


class Reviewer:
    def __init__(self, rest: Rest) -> None:
        self.rest = rest

    def authenticate(self, token: str) -> Caller | None:
        """The token's user, or None when the API server does not accept the token."""
        answer = self.rest.create(TOKEN_REVIEW, None, {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}})
        status = _mapping(answer.get("status"))
        user = _mapping(status.get("user"))
        if status.get("authenticated") is not True or not user.get("username"):
            return None
        extra = {str(k): tuple(map(str, v)) for k, v in _mapping(user.get("extra")).items()
                 if isinstance(v, list)}
        return Caller(username=str(user["username"]), uid=str(user.get("uid", "")),
                      groups=tuple(map(str, user.get("groups") or ())), extra=extra)

    def allowed(self, caller: Caller, *, verb: str, ref: ServiceRef) -> bool:
        """May ``caller`` ``verb`` this KServe object (its own kind's resource)?"""
        spec: dict[str, Any] = {
            "user": caller.username, "groups": list(caller.groups),
            "resourceAttributes": {"namespace": ref.namespace, "verb": verb,
                                   "group": kserve.GROUP,
                                   "resource": kserve.KINDS[ref.kind].plural,
                                   "name": ref.name}}
        if caller.uid:
            spec["uid"] = caller.uid
        if caller.extra:
            spec["extra"] = {k: list(v) for k, v in caller.extra.items()}
        answer = self.rest.create(ACCESS_REVIEW, None, {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": spec})
        return _mapping(answer.get("status")).get("allowed") is True


def _mapping(value: object) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ClusterError(f"a review answered {type(value).__name__} where an object "
                           "was expected")
    return value
