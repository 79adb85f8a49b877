"""Leader election on a Lease: one leader, handover after a kill, no double actions."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.clock import ManualClock
from reclaimer.config import LeaderElectionSettings
from reclaimer.errors import ConfigInvalid
from reclaimer.kube import rest
from reclaimer.kube.lease import LeaderElector, LeaseSettings, lease_settings
from tests.kube.conftest import MakeRest

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("lease_child.py")


@dataclass
class FakeTime:
    """One controllable time for all replicas: monotonic seconds and the wall clock."""

    seconds: float = 0.0
    wall: ManualClock = field(default_factory=lambda: ManualClock(T0))

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.wall.advance(timedelta(seconds=seconds))


def _elector(client: rest.Rest, identity: str, clock: FakeTime) -> LeaderElector:
    settings = LeaseSettings(namespace="reclaimer", name="reclaimer-leader",
                             identity=identity)
    return LeaderElector(client, settings, now=clock.wall.now, monotonic=clock.monotonic)


def _holder(client: rest.Rest) -> str:
    lease = client.get(rest.LEASE, "reclaimer", "reclaimer-leader")
    return str(lease["spec"].get("holderIdentity") or "")


def test_only_one_of_two_candidates_leads(make_rest: MakeRest) -> None:
    _, client = make_rest({"namespaces": ["reclaimer"]})
    clock = FakeTime()
    a, b = _elector(client, "pod-a", clock), _elector(client, "pod-b", clock)
    results = []
    for _ in range(10):
        results.append((a.try_acquire_or_renew(), b.try_acquire_or_renew()))
        clock.advance(2.0)
    assert set(results) == {(True, False)}
    assert _holder(client) == "pod-a"


def test_a_killed_leader_is_replaced_within_the_lease_duration(make_rest: MakeRest) -> None:
    _, client = make_rest({"namespaces": ["reclaimer"]})
    clock = FakeTime()
    a, b = _elector(client, "pod-a", clock), _elector(client, "pod-b", clock)
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    killed_at = clock.seconds
    while not b.try_acquire_or_renew():
        clock.advance(2.0)
    assert clock.seconds - killed_at <= 15.0 + 2.0
    assert not a.is_leader()
    assert _holder(client) == "pod-b"


def test_a_leader_that_cannot_renew_stops_leading_before_anyone_else_starts(
        make_rest: MakeRest) -> None:
    handle, client = make_rest({"namespaces": ["reclaimer"]})
    clock = FakeTime()
    a = _elector(client, "pod-a", clock)
    a.try_acquire_or_renew()
    handle.faults.add("get", "leases", status=503, times=100)
    clock.advance(9.0)
    still = a.try_acquire_or_renew() or a.is_leader()
    clock.advance(2.0)
    assert (still, a.try_acquire_or_renew(), a.is_leader()) == (True, False, False)


def test_a_renewing_holder_whose_clock_stands_still_keeps_the_lease(
        make_rest: MakeRest) -> None:
    """Its renewTime repeats (a held test timeline, a clock stepped back); every renewal
    still writes the Lease, and that write is what the standby observes."""
    _, client = make_rest({"namespaces": ["reclaimer"]})
    clock = FakeTime()
    a, b = _elector(client, "pod-a", clock), _elector(client, "pod-b", clock)
    taken = []
    for _ in range(12):
        a.try_acquire_or_renew()
        taken.append(b.try_acquire_or_renew())
        clock.seconds += 2.0
    assert (any(taken), a.is_leader(), _holder(client)) == (False, True, "pod-a")


def test_each_gain_of_the_lease_starts_a_term_dated_by_the_wall_clock(
        make_rest: MakeRest) -> None:
    _, client = make_rest({"namespaces": ["reclaimer"]})
    clock = FakeTime()
    a = _elector(client, "pod-a", clock)
    a.try_acquire_or_renew()
    clock.advance(2.0)
    a.try_acquire_or_renew()
    first = (a.term, a.term_started_at)
    a.release()
    clock.advance(2.0)
    a.try_acquire_or_renew()
    assert (first, (a.term, a.term_started_at)) == (
        (1, T0), (2, T0 + timedelta(seconds=4)))


def test_a_released_lease_is_taken_at_once(make_rest: MakeRest) -> None:
    _, client = make_rest({"namespaces": ["reclaimer"]})
    clock = FakeTime()
    a, b = _elector(client, "pod-a", clock), _elector(client, "pod-b", clock)
    a.try_acquire_or_renew()
    a.release()
    assert (a.is_leader(), b.try_acquire_or_renew()) == (False, True)


def test_two_hundred_ticks_with_random_leader_kills_never_act_twice(
        make_rest: MakeRest) -> None:
    _, client = make_rest({"namespaces": ["reclaimer"]})
    clock, rng = FakeTime(), random.Random(6)
    alive = {name: _elector(client, name, clock) for name in ("pod-0", "pod-1", "pod-2")}
    serial, actions, kills = 3, [], 0
    for tick in range(200):
        for elector in list(alive.values()):
            elector.try_acquire_or_renew()
        acting = [name for name, e in alive.items() if e.is_leader()]
        actions.append((tick, acting))
        if acting and rng.random() < 0.08:
            del alive[acting[0]]
            kills += 1
            alive[f"pod-{serial}"] = _elector(client, f"pod-{serial}", clock)
            serial += 1
        clock.advance(2.0)
    assert kills >= 5
    assert max(len(acting) for _, acting in actions) == 1
    assert sum(1 for _, acting in actions if acting) >= 100


def _start(url: str, identity: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(CHILD), url, identity, str(log)],
                            cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _actions(log: Path) -> list[tuple[str, float]]:
    rows = [line.split() for line in log.read_text().splitlines() if line.strip()]
    return [(who, float(at)) for who, at in rows]


@pytest.mark.timeout(90)
def test_two_processes_hand_over_after_sigkill(make_rest: MakeRest, tmp_path: Path) -> None:
    handle, client = make_rest({"namespaces": ["reclaimer"]})
    log = tmp_path / "actions.log"
    log.touch()
    first = _start(handle.url, "proc-a", log)
    second: subprocess.Popen[bytes] | None = None
    try:
        assert _wait(lambda: any(w == "proc-a" for w, _ in _actions(log)), 30)
        second = _start(handle.url, "proc-b", log)
        time.sleep(3.0)
        assert {w for w, _ in _actions(log)} == {"proc-a"}
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        assert _wait(lambda: any(w == "proc-b" for w, _ in _actions(log)), 15)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
    rows = _actions(log)
    last_a = max(at for w, at in rows if w == "proc-a")
    first_b = min(at for w, at in rows if w == "proc-b")
    assert last_a < first_b
    assert first_b - last_a <= 3.0 + 2 * 0.2 + 1.0  # lease duration + two retry periods
    assert _holder(client) == "proc-b"


def test_settings_from_config_default_to_client_go_and_the_pod_name() -> None:
    settings = lease_settings(LeaderElectionSettings(), pod_name="reclaimer-7d9f-abc")
    assert (settings.identity, settings.lease_duration, settings.renew_deadline,
            settings.retry_period) == ("reclaimer-7d9f-abc", 15.0, 10.0, 2.0)


@pytest.mark.parametrize(("config", "key"), [
    pytest.param(LeaderElectionSettings(), "leaderElection.identity", id="no-identity"),
    pytest.param(LeaderElectionSettings(identity="p", renew_deadline=timedelta(seconds=20)),
                 "leaderElection.renewDeadline", id="deadline-beyond-lease"),
])
def test_bad_settings_name_the_key(config: LeaderElectionSettings, key: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        lease_settings(config, pod_name="")
    assert caught.value.key == key
