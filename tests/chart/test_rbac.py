"""The chart grants exactly the API calls the service makes (issue 8), no wildcards."""

from __future__ import annotations

import dataclasses

import pytest

from tests.chart.helm import NAMESPACE, Helm, HelmFailed, Rendered
from tests.chart.rbac import Grant, covers, grants

pytestmark = pytest.mark.integration

LEASE = "reclaimer-leader"


def _cluster(group: str, resource: str, *verbs: str) -> set[Grant]:
    return {Grant("cluster", group, resource, verb) for verb in verbs}


ALWAYS = (
    _cluster("serving.kserve.io", "inferenceservices", "get", "list", "watch", "patch")
    | _cluster("serving.kserve.io", "inferenceservices/status", "patch")
    | _cluster("serving.kserve.io", "llminferenceservices", "get", "list", "watch", "patch")
    | _cluster("serving.kserve.io", "inferencegraphs", "get", "list", "watch", "patch")
    | _cluster("", "pods", "list", "watch")
    | _cluster("", "events", "create", "patch")
    | _cluster("reclaimer.io", "reclaimpolicies", "list", "watch")
    | _cluster("reclaimer.io", "reclaimpolicies/status", "patch")
    | {
        Grant(NAMESPACE, "coordination.k8s.io", "leases", "create"),
        Grant(NAMESPACE, "coordination.k8s.io", "leases", "get", LEASE),
        Grant(NAMESPACE, "coordination.k8s.io", "leases", "update", LEASE),
        Grant("kserve", "", "configmaps", "get", "inferenceservice-config"),
        Grant("kserve", "apps", "deployments", "get", "kserve-controller-manager"),
    }
)
# What reclaimer/kube/cluster.py does for managed stops: LIST by label, PATCH the scale;
# LIST who else scales those Deployments, and pause a KEDA ScaledObject (issue 14 case 8).
MANAGED = (_cluster("apps", "deployments", "list") | _cluster("apps", "deployments/scale", "patch")
           | _cluster("keda.sh", "scaledobjects", "list", "patch")
           | _cluster("autoscaling", "horizontalpodautoscalers", "list")
           | _cluster("argoproj.io", "rollouts", "list")
           # ModelMesh runtime-level reclaim: the ServingRuntime's replicas, its Deployment.
           | _cluster("serving.kserve.io", "servingruntimes", "get", "patch")
           | _cluster("apps", "deployments", "get"))


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        pytest.param("auto", ALWAYS | MANAGED, id="auto-may-manage"),
        pytest.param("managed", ALWAYS | MANAGED, id="managed"),
        pytest.param("native", ALWAYS, id="native-never-touches-deployments"),
    ],
)
def test_rules_are_exactly_the_calls_the_service_makes(
    helm: Helm, strategy: str, expected: set[Grant]
) -> None:
    rendered = helm.template(set_values=[f"config.executor.strategy={strategy}"])
    assert grants(rendered) == expected


def test_kserve_config_role_lives_in_the_configured_kserve_namespace(helm: Helm) -> None:
    rendered = helm.template(set_values=["kserve.namespace=kserve-system"])
    granted = grants(rendered)
    assert Grant("kserve-system", "", "configmaps", "get", "inferenceservice-config") in granted
    assert not any(g.scope == "kserve" for g in granted)


@pytest.mark.parametrize(
    ("resource", "name", "allowed"),
    [
        pytest.param("configmaps", "inferenceservice-config", True, id="kserve-config"),
        pytest.param("configmaps", "other", False, id="no-other-configmap"),
        pytest.param("secrets", "inferenceservice-config", False, id="no-secrets"),
    ],
)
def test_configmap_read_is_limited_to_kserves_config(
    default_render: Rendered, resource: str, name: str, allowed: bool
) -> None:
    assert covers(grants(default_render), scope="kserve", group="", resource=resource,
                  verb="get", name=name) is allowed


@pytest.mark.parametrize(
    ("verb", "name", "allowed"),
    [
        pytest.param("get", LEASE, True, id="get-own-lease"),
        pytest.param("update", LEASE, True, id="update-own-lease"),
        pytest.param("update", "someone-elses-lease", False, id="not-other-leases"),
        pytest.param("delete", LEASE, False, id="never-delete"),
    ],
)
def test_lease_access_is_limited_to_the_leader_lease(
    default_render: Rendered, verb: str, name: str, allowed: bool
) -> None:
    assert covers(grants(default_render), scope=NAMESPACE, group="coordination.k8s.io",
                  resource="leases", verb=verb, name=name) is allowed


@pytest.mark.parametrize(
    "set_values",
    [
        pytest.param([], id="default"),
        pytest.param(["config.executor.strategy=managed", "database.url=postgresql://h/db"],
                     id="ha-managed"),
    ],
)
def test_no_wildcards_anywhere(helm: Helm, set_values: list[str]) -> None:
    rendered = helm.template(set_values=set_values)
    fields = ("apiGroups", "resources", "verbs", "resourceNames")
    roles = rendered.of_kind("ClusterRole") + rendered.of_kind("Role")
    for role in roles:
        for rule in role["rules"]:
            assert not any("*" in item for f in fields for item in rule.get(f) or []), rule


def test_leader_election_off_drops_the_lease_role(helm: Helm) -> None:
    rendered = helm.template(set_values=["config.leaderElection.enabled=false"])
    assert not any(g.resource == "leases" for g in grants(rendered))


def test_rbac_create_false_renders_no_rbac(helm: Helm) -> None:
    rendered = helm.template(set_values=["rbac.create=false"])
    rbac = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    assert rbac.isdisjoint(rendered.kinds())


def test_every_binding_names_the_service_account(default_render: Rendered) -> None:
    sa = default_render.one("ServiceAccount")["metadata"]["name"]
    bindings = default_render.of_kind("ClusterRoleBinding") + default_render.of_kind("RoleBinding")
    assert len(bindings) == 3
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa,
                                        "namespace": NAMESPACE}]


WATCHED = ["watchNamespaces={team-a,team-b}"]


def _namespaced(granted: set[Grant], namespace: str) -> set[Grant]:
    return {dataclasses.replace(g, scope=namespace) for g in granted}


@pytest.mark.parametrize(
    ("strategy", "rules"),
    [
        pytest.param("auto", ALWAYS | MANAGED, id="auto-may-manage"),
        pytest.param("native", ALWAYS, id="native-never-touches-deployments"),
    ],
)
def test_watch_namespaces_grant_the_same_rules_per_namespace_and_no_cluster_role(
    helm: Helm, strategy: str, rules: set[Grant]
) -> None:
    rendered = helm.template(set_values=[*WATCHED, f"config.executor.strategy={strategy}"])
    cluster_rules = {g for g in rules if g.scope == "cluster"}
    release_rules = rules - cluster_rules
    expected = (_namespaced(cluster_rules, "team-a") | _namespaced(cluster_rules, "team-b")
                | release_rules)
    assert grants(rendered) == expected
    assert {"ClusterRole", "ClusterRoleBinding"}.isdisjoint(rendered.kinds())


def test_watch_namespaces_bind_each_role_to_the_service_account(helm: Helm) -> None:
    rendered = helm.template(set_values=WATCHED)
    bindings = {(b["metadata"]["namespace"], b["roleRef"]["name"])
                for b in rendered.of_kind("RoleBinding")}
    assert {("team-a", "reclaimer"), ("team-b", "reclaimer")} <= bindings
    for binding in rendered.of_kind("RoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "reclaimer",
                                        "namespace": NAMESPACE}]


@pytest.mark.parametrize(
    "value",
    [pytest.param("{Team_A}", id="not a namespace name"),
     pytest.param("{team-a,-b}", id="one bad name among good")],
)
def test_watch_namespaces_refuse_a_bad_name(helm: Helm, value: str) -> None:
    with pytest.raises(HelmFailed, match="watchNamespaces"):
        helm.template(set_values=[f"watchNamespaces={value}"])
