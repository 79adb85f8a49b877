"""Child process for test_started_by_hand: observes the held managed stops and is
SIGKILLed right after the release's status write lands (reclaimer's ``Stopped``
condition removed), before the loop could book the external start."""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

from reclaimer.executor.executor import Executor
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import Rest
from reclaimer.ledger import open_ledger
from reclaimer.model import ServiceRef


class DieAfterStatus(KubeCluster):
    def patch_isvc_status(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        done = super().patch_isvc_status(ref, body)
        os.kill(os.getpid(), signal.SIGKILL)
        return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--db")
    args = parser.parse_args()
    cluster = DieAfterStatus(Rest(api_client_for_host(args.url)))
    Executor(cluster, open_ledger(args.db), actor="child").observe_managed_stops()
    raise SystemExit("released nothing")


if __name__ == "__main__":
    main()
