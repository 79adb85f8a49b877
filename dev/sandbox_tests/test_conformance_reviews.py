"""TokenReview and SubjectAccessReview as the real server answers them (issue 19)."""

from __future__ import annotations

from typing import Any

import pytest

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import raw

pytestmark = pytest.mark.integration
TOKENS = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


def access(user: str, verb: str, namespace: str = "team-a") -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "resourceAttributes": {
                "namespace": namespace, "verb": verb, "group": "serving.kserve.io",
                "resource": "inferenceservices", "name": "llama"}}}


@pytest.mark.parametrize(("token", "user"), [
    pytest.param("alice-token", "alice", id="alice"),
    pytest.param("bob-token", "bob", id="bob"),
    pytest.param("forged", None, id="unknown-token"),
])
def test_token_review_names_the_user(server: ApiServer, token: str, user: str | None) -> None:
    code, body, _ = raw(server, "POST", TOKENS, {"apiVersion": "authentication.k8s.io/v1",
                                                 "kind": "TokenReview",
                                                 "spec": {"token": token}})
    status = body["status"]
    assert (code, status["authenticated"]) == (201, user is not None)
    assert status.get("user", {}).get("username") == user


@pytest.mark.parametrize(("user", "verb", "namespace", "allowed"), [
    pytest.param("alice", "patch", "team-a", True, id="alice-patch-team-a"),
    pytest.param("alice", "patch", "team-b", False, id="alice-patch-team-b"),
    pytest.param("bob", "patch", "team-a", False, id="bob-patch"),
    pytest.param("bob", "get", "team-a", True, id="bob-get"),
    pytest.param("mallory", "get", "team-a", False, id="unknown-user"),
])
def test_access_review_follows_the_users_rules(server: ApiServer, user: str, verb: str,
                                                namespace: str, allowed: bool) -> None:
    code, body, _ = raw(server, "POST", ACCESS, access(user, verb, namespace))
    assert (code, body["status"]["allowed"], body["spec"]["user"]) == (201, allowed, user)


def test_reviews_take_injected_faults(server: ApiServer) -> None:
    server.faults.add("create", "subjectaccessreviews", status=503)
    assert raw(server, "POST", ACCESS, access("alice", "patch"))[0] == 503
    assert raw(server, "POST", ACCESS, access("alice", "patch"))[0] == 201


def test_only_post_is_served(server: ApiServer) -> None:
    assert raw(server, "GET", TOKENS)[0] == 405
