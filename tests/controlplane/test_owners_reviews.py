"""The owners' API asks the real API server who a caller is and what they may do (issue 19).

The reviewer runs with the chart's ServiceAccount token only, rendered with
``api.enabled=true``, so this also proves the chart grants the two review creates. alice
has a Role that lets her patch InferenceServices in the test namespace; bob has none; a
made-up token is nobody.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from reclaimer.kube.reviews import Caller, Reviewer
from reclaimer.model import ServiceRef
from tests.chart.helm import HELM, Helm, fetch_helm
from tests.controlplane.cluster import ControlPlane
from tests.controlplane.rbac import apply_chart_rbac, token_for, token_kubeconfig
from tests.controlplane.world import RealWorld

pytestmark = pytest.mark.timeout(120)


@dataclass(frozen=True)
class People:
    reviewer: Reviewer
    namespace: str
    tokens: dict[str, str]

    def caller(self, who: str) -> Caller:
        found = self.reviewer.authenticate(self.tokens[who])
        assert found is not None, f"the API server did not accept {who}'s token"
        return found


def _grant_patch(api: client.ApiClient, namespace: str, account: str) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(namespace, {
        "metadata": {"name": "owner"},
        "rules": [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                   "verbs": ["get", "patch"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "owner"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "owner"},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]})
    _wait_until_granted(api, namespace, account)


def _wait_until_granted(api: client.ApiClient, namespace: str, account: str) -> None:
    """The API server's RBAC authorizer reads Roles and bindings from its informer
    cache: a review asked right after the create can still be denied (seen once in a
    clean-clone run). Wait, as `kubectl auth can-i` in a loop would, until the server
    itself says the grant is in force."""
    review = {"spec": {"user": f"system:serviceaccount:{namespace}:{account}",
                       "resourceAttributes": {"namespace": namespace, "verb": "get",
                                              "group": "serving.kserve.io",
                                              "resource": "inferenceservices"}}}
    authz = client.AuthorizationV1Api(api)
    deadline = time.monotonic() + 30
    while not authz.create_subject_access_review(review).status.allowed:
        assert time.monotonic() < deadline, f"{account}'s Role never took effect"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def api_kubeconfig(plane: ControlPlane, admin: client.ApiClient,
                   tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart's ServiceAccount token with the RBAC the chart renders for the API."""
    problem = fetch_helm()
    if problem is not None:
        pytest.fail(f"helm is needed to render the chart's RBAC: {problem}", pytrace=False)
    home = tmp_path_factory.mktemp("helm-api")
    rendered = Helm(HELM, home).template(set_values=["api.enabled=true"])
    namespace, account = apply_chart_rbac(admin, rendered)
    return token_kubeconfig(plane, token_for(admin, namespace, account), home / "kubeconfig")


@pytest.fixture
def people(world: RealWorld, api_kubeconfig: Path) -> Iterator[People]:
    core = client.CoreV1Api(world.admin)
    for account in ("alice", "bob"):
        core.create_namespaced_service_account(world.namespace, {"metadata": {"name": account}})
    _grant_patch(world.admin, world.namespace, "alice")
    tokens = {who: token_for(world.admin, world.namespace, who) for who in ("alice", "bob")}
    yield People(reviewer=Reviewer(world.rest(api_kubeconfig)), namespace=world.namespace,
                 tokens=tokens | {"nobody": "not-a-token"})


def test_a_service_account_token_is_answered_with_its_user_and_groups(people: People) -> None:
    alice = people.caller("alice")
    assert alice.username == f"system:serviceaccount:{people.namespace}:alice"
    assert "system:serviceaccounts" in alice.groups and alice.uid


def test_a_made_up_token_is_nobody(people: People) -> None:
    assert people.reviewer.authenticate(people.tokens["nobody"]) is None


@pytest.mark.parametrize(("who", "verb", "allowed"), [
    pytest.param("alice", "patch", True, id="alice-may-patch"),
    pytest.param("alice", "get", True, id="alice-may-get"),
    pytest.param("alice", "delete", False, id="alice-may-not-delete"),
    pytest.param("bob", "patch", False, id="bob-may-not-patch"),
    pytest.param("bob", "get", False, id="bob-may-not-get"),
])
def test_the_api_servers_rbac_decides(people: People, who: str, verb: str,
                                      allowed: bool) -> None:
    ref = ServiceRef(people.namespace, "llama")
    assert people.reviewer.allowed(people.caller(who), verb=verb, ref=ref) is allowed


def test_alices_role_stops_at_her_namespace(people: People) -> None:
    elsewhere = ServiceRef("default", "llama")
    assert people.reviewer.allowed(people.caller("alice"), verb="patch", ref=elsewhere) is False
