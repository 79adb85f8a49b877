"""Does the InferenceService a person holds exist? Asked of the cluster when there is one.

A hold lives in the ledger and needs no cluster, so without a kubeconfig the hold is
made and the answer says it was not checked. With one, a service the cluster does not
know is refused: a typo in a hold would otherwise protect nothing, silently.
"""

from __future__ import annotations

import os

from reclaimer.config import env_name
from reclaimer.errors import ArgumentInvalid, ClusterError, ConfigInvalid, NotFound
from reclaimer.model import ServiceRef


def check_exists(ref: ServiceRef, *, kubeconfig: str | None) -> str:
    """A note for the answer ("" when checked); raises when the cluster says no."""
    from reclaimer.kube.client import choose_kubeconfig, load_api_client  # noqa: PLC0415
    from reclaimer.kube.cluster import KubeCluster  # noqa: PLC0415
    from reclaimer.kube.rest import Rest  # noqa: PLC0415

    explicit = kubeconfig or os.environ.get(env_name("kubeconfig")) or None
    try:
        tried = choose_kubeconfig(explicit, env=os.environ).tried
        rest = Rest(load_api_client(explicit))
    except ConfigInvalid:
        return " (not checked against a cluster: no kubeconfig)"
    try:
        KubeCluster(rest).get_isvc(ref)
    except NotFound as exc:
        raise ArgumentInvalid(f"NS/NAME: {ref} is not an InferenceService in the cluster of "
                              f"{tried}; pass --no-check to hold it anyway") from exc
    except ClusterError as exc:
        return f" (not checked against a cluster: {type(exc).__name__})"
    finally:
        rest.api_client.close()  # type: ignore[no-untyped-call]
    return ""
