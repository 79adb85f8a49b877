"""Leader election over a coordination.k8s.io/v1 Lease, the way client-go does it.

client-go's LeaseLock (tools/leaderelection/resourcelock/leaselock.go) and
tryAcquireOrRenew (tools/leaderelection/leaderelection.go): GET the lease; create it
when missing; otherwise take it only when it is ours or its renewTime plus
leaseDurationSeconds has passed, by a PUT carrying the resourceVersion just read,
so a racing candidate's PUT fails with 409 Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import NS

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DURATION = 15


@dataclass
class Candidate:
    api: client.CoordinationV1Api
    identity: str

    def read(self) -> client.V1Lease | None:
        try:
            return self.api.read_namespaced_lease("reclaimer", NS)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def try_acquire_or_renew(self, now: datetime,
                             lease: client.V1Lease | None = None) -> bool:
        lease = lease or self.read()
        if lease is None:
            self.api.create_namespaced_lease(NS, client.V1Lease(
                metadata=client.V1ObjectMeta(name="reclaimer"),
                spec=self._spec(now, acquired=now, transitions=0)))
            return True
        spec = lease.spec
        mine = spec.holder_identity == self.identity
        if not mine and spec.renew_time + timedelta(seconds=spec.lease_duration_seconds) > now:
            return False
        lease.spec = self._spec(now, acquired=spec.acquire_time if mine else now,
                                transitions=spec.lease_transitions + (0 if mine else 1))
        try:
            self.api.replace_namespaced_lease("reclaimer", NS, lease)
        except client.ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def _spec(self, now: datetime, *, acquired: datetime,
              transitions: int) -> client.V1LeaseSpec:
        return client.V1LeaseSpec(holder_identity=self.identity,
                                  lease_duration_seconds=DURATION, acquire_time=acquired,
                                  renew_time=now, lease_transitions=transitions)


@pytest.fixture
def leases(api_client: client.ApiClient) -> client.CoordinationV1Api:
    return client.CoordinationV1Api(api_client)


def test_first_candidate_creates_the_lease(leases: client.CoordinationV1Api) -> None:
    assert Candidate(leases, "a").try_acquire_or_renew(T0)
    spec = leases.read_namespaced_lease("reclaimer", NS).spec
    assert (spec.holder_identity, spec.lease_transitions, spec.renew_time) == ("a", 0, T0)


def test_holder_renews_with_its_resource_version(leases: client.CoordinationV1Api) -> None:
    a = Candidate(leases, "a")
    a.try_acquire_or_renew(T0)
    before = leases.read_namespaced_lease("reclaimer", NS).metadata.resource_version
    assert a.try_acquire_or_renew(T0 + timedelta(seconds=5))
    lease = leases.read_namespaced_lease("reclaimer", NS)
    assert (lease.spec.renew_time, lease.spec.acquire_time, lease.spec.lease_transitions) == (
        T0 + timedelta(seconds=5), T0, 0)
    assert int(lease.metadata.resource_version) > int(before)


def test_other_candidate_waits_while_the_lease_is_fresh(
        server: ApiServer, leases: client.CoordinationV1Api) -> None:
    Candidate(leases, "a").try_acquire_or_renew(T0)
    server.request_log.clear()
    assert not Candidate(leases, "b").try_acquire_or_renew(T0 + timedelta(seconds=DURATION - 1))
    assert [r.verb for r in server.request_log.entries(resource="leases")] == ["get"]


def test_other_candidate_takes_over_after_expiry(leases: client.CoordinationV1Api) -> None:
    Candidate(leases, "a").try_acquire_or_renew(T0)
    later = T0 + timedelta(seconds=DURATION + 1)
    assert Candidate(leases, "b").try_acquire_or_renew(later)
    spec = leases.read_namespaced_lease("reclaimer", NS).spec
    assert (spec.holder_identity, spec.acquire_time, spec.lease_transitions) == ("b", later, 1)


def test_racing_takeover_loses_with_409(server: ApiServer,
                                        leases: client.CoordinationV1Api) -> None:
    Candidate(leases, "a").try_acquire_or_renew(T0)
    later = T0 + timedelta(seconds=DURATION + 1)
    b, c = Candidate(leases, "b"), Candidate(leases, "c")
    seen_by_b, seen_by_c = b.read(), c.read()
    assert b.try_acquire_or_renew(later, seen_by_b)
    assert not c.try_acquire_or_renew(later, seen_by_c)
    assert leases.read_namespaced_lease("reclaimer", NS).spec.holder_identity == "b"
    assert [r.code for r in server.request_log.entries(verb="update")] == [200, 409]
