"""The controlplane tier: one real cluster per KServe release, shared by the session.

Every test here gets the ``controlplane`` marker and runs once per release in pins.env.
Without Go or a built component the tier skips with one line naming what is missing;
``RECLAIMER_REQUIRE_CONTROLPLANE=1`` (set by .ci/run) turns that into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.chart.crd import crd
from tests.chart.helm import CHART, HELM, Helm, Rendered, fetch_helm
from tests.controlplane.binaries import ControlPlaneMissing, kserve_releases, pins
from tests.controlplane.cluster import ControlPlane, running
from tests.controlplane.rbac import apply_chart_rbac, token_for, token_kubeconfig
from tests.controlplane.world import RealWorld
from tests.e2e.harness import wait_for

REQUIRE_ENV = "RECLAIMER_REQUIRE_CONTROLPLANE"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.controlplane)
            item.add_marker(pytest.mark.integration)


def _missing(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(f"CONTROLPLANE TIER NOT RUN: {reason}")


@pytest.fixture(scope="session", params=kserve_releases())
def plane(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A started cluster running KServe ``request.param``; stopped at the end."""
    release = str(request.param)
    workdir = tmp_path_factory.mktemp(f"controlplane-{release}")
    try:
        with running(release, workdir) as started:
            yield started
    except ControlPlaneMissing as exc:
        _missing(str(exc))


@pytest.fixture(scope="session")
def admin(plane: ControlPlane) -> Iterator[client.ApiClient]:
    with plane.api_client() as api:
        yield api


@pytest.fixture
def world(plane: ControlPlane, admin: client.ApiClient) -> Iterator[RealWorld]:
    """A fresh namespace on the shared cluster; deleted (not awaited) afterwards."""
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(admin).create_namespace({"metadata": {"name": namespace}})
    real = RealWorld(plane=plane, admin=admin, namespace=namespace)
    try:
        yield real
    finally:
        real.close()
        client.CoreV1Api(admin).delete_namespace(namespace)


@pytest.fixture(scope="session")
def policy_crd(admin: client.ApiClient) -> str:
    """The chart's CRD file, created as is; its name once Established."""
    ext = client.ApiextensionsV1Api(admin)
    body = dict(crd())
    name = str(body["metadata"]["name"])
    try:
        ext.create_custom_resource_definition(body)
    except ApiException as exc:
        if exc.status != 409:
            raise
    wait_for(lambda: any(c.type == "Established" and c.status == "True" for c in
                         ext.read_custom_resource_definition(name).status.conditions or []),
             timeout=60, what=f"{name} Established")
    return name


@pytest.fixture(scope="session")
def chart_kubeconfig(plane: ControlPlane, admin: client.ApiClient,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig holding only the token of the chart's ServiceAccount, its RBAC applied."""
    problem = fetch_helm()
    if problem is not None:
        pytest.fail(f"helm is needed to render the chart's RBAC: {problem}", pytrace=False)
    home = tmp_path_factory.mktemp("helm-home")
    rendered = Helm(HELM, home).template()  # RBAC only: the policy is admitted_kubeconfig's
    namespace, account = apply_chart_rbac(admin, rendered)
    return token_kubeconfig(plane, token_for(admin, namespace, account),
                            home / "chart-kubeconfig")


ADMITTED_RELEASE = "reclaimer-admitted"


@pytest.fixture(scope="session")
def admitted_kubeconfig(plane: ControlPlane, admin: client.ApiClient,
                        tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart installed as a second release (its own ServiceAccount) with its RBAC and
    its ValidatingAdmissionPolicy, which binds to that account's name only: the policy is
    enforced for this token and leaves the other tests' account alone."""
    problem = fetch_helm()
    if problem is not None:
        pytest.fail(f"helm is needed to render the chart: {problem}", pytrace=False)
    home = tmp_path_factory.mktemp("helm-admitted")
    kube_version = pins()["K8S_VERSION"].lstrip("v")
    done = Helm(HELM, home).run("template", ADMITTED_RELEASE, str(CHART), "--namespace",
                                ADMITTED_RELEASE, "--kube-version", kube_version)
    assert done.returncode == 0, done.stderr
    rendered = Rendered(done.stdout, tuple(d for d in yaml.safe_load_all(done.stdout) if d))
    namespace, account = apply_chart_rbac(admin, rendered, release_namespace=ADMITTED_RELEASE,
                                          admission=True)
    assert rendered.of_kind("ValidatingAdmissionPolicy"), "the chart rendered no policy"
    return token_kubeconfig(plane, token_for(admin, namespace, account), home / "kubeconfig")
