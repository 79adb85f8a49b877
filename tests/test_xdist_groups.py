"""The worker groups of ``make test`` (tests/fixtures/xdist_groups.py)."""

from __future__ import annotations

import pytest

from tests.controlplane.binaries import kserve_releases
from tests.fixtures.xdist_groups import group_of

RELEASE = kserve_releases()[0]


@pytest.mark.parametrize(("nodeid", "group"), [
    pytest.param(f"tests/controlplane/test_run.py::test_x[{RELEASE}]",
                 f"controlplane-{RELEASE}", id="controlplane-release"),
    pytest.param(f"tests/controlplane/test_run.py::test_x[stop-{RELEASE}]",
                 f"controlplane-{RELEASE}", id="controlplane-release-among-params"),
    pytest.param("tests/controlplane/test_crd.py::test_x", "tests/controlplane/test_crd.py",
                 id="controlplane-without-release"),
    pytest.param("tests/e2e/test_owners.py::test_x[a]", "e2e", id="e2e"),
    pytest.param("tests/kube/test_lease.py::test_x[a@b]", "tests/kube/test_lease.py",
                 id="module-at-in-params"),
    pytest.param("tests/kube/test_lease.py::test_x@other", "tests/kube/test_lease.py",
                 id="module-xdist-suffix"),
    pytest.param("dev/sandbox_tests/test_kubectl.py::test_x", "dev/sandbox_tests/test_kubectl.py",
                 id="sandbox-tests"),
])
def test_each_test_has_its_group(nodeid: str, group: str) -> None:
    assert group_of(nodeid) == group


def test_every_release_has_a_group_of_its_own() -> None:
    groups = {group_of(f"tests/controlplane/test_run.py::test_x[{r}]") for r in kserve_releases()}
    assert len(groups) == len(kserve_releases())
