"""A replica for test_lease: elect on the sandbox Lease and log each action it takes.

Each loop the replica renews or tries to acquire, and while it leads it "acts": it
appends ``<identity> <CLOCK_MONOTONIC>`` to the log, which is shared by all replicas
on this machine, so the test can check that actions never interleave.
"""

from __future__ import annotations

import sys
import time

from reclaimer.clock import SystemClock
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.kube.rest import Rest


def main(url: str, identity: str, log_path: str) -> None:
    settings = LeaseSettings(namespace="reclaimer", name="reclaimer-leader", identity=identity,
                             lease_duration=3.0, renew_deadline=2.0, retry_period=0.2)
    elector = LeaderElector(Rest(api_client_for_host(url), timeout=0.5), settings,
                            now=SystemClock().now)
    with open(log_path, "a", buffering=1) as log:
        while True:
            elector.try_acquire_or_renew()
            if elector.is_leader():
                log.write(f"{identity} {time.monotonic()}\n")
            time.sleep(settings.retry_period)


if __name__ == "__main__":
    main(*sys.argv[1:4])
