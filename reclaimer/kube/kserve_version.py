"""Which KServe the cluster runs, where it can be read (``kserve_stop.md`` §1, §9).

The version decides what KServe's own stop covers: nothing before 0.15.1, Knative
predictors on 0.15.1/0.15.2, every mode and component from 0.16. It comes from the
configuration (``executor.kserveVersion``) or from the image tag of KServe's controller
Deployment ``kserve-controller-manager``; a tag that is not a version (``latest``, a
digest) or a Deployment that cannot be read leaves it unknown, and the executor then
decides from each InferenceService's own status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reclaimer.errors import (
    ClusterError,
    ClusterUnavailable,
    ServerError,
    TooManyRequests,
)
from reclaimer.kube import rest

CONTROLLER = "kserve-controller-manager"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.-]*)?$")


@dataclass(frozen=True, order=True)
class KServeVersion:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


NATIVE_KNATIVE_PREDICTOR = KServeVersion(0, 15, 1)
"""PR #4337: stop for Serverless predictors only."""
NATIVE_EVERYWHERE = KServeVersion(0, 16, 0)
"""PRs #4455, #4534, #4546: Raw mode, transformer and explainer too."""


def parse_kserve_version(text: str | None) -> KServeVersion | None:
    """``0.15``, ``v0.15.2``, ``0.16.0-rc1``; None for anything else.

    Every KServe release is 0.x: a tag like ``v2.19.0`` (a fork's own product version,
    as Open Data Hub tags its controller) or ``2025.06.1`` says nothing about which
    KServe it carries, and read as a version it would claim "≥ 0.16" for any of them."""
    found = _VERSION.match((text or "").strip())
    if found is None or int(found.group(1)) != 0:
        return None
    major, minor, patch = found.groups()
    return KServeVersion(int(major), int(minor), int(patch or 0))


def version_of_image(image: str) -> KServeVersion | None:
    """The tag of ``registry:5000/kserve/kserve-controller:v0.15.2``; None for a digest."""
    if "@" in image:
        return None
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return None
    return parse_kserve_version(tag)


def controller_version(client: rest.Rest, *, namespace: str,
                       known: KServeVersion | None = None) -> KServeVersion | None:
    """The controller Deployment's ``manager`` container tag, or None if unreadable.

    ``known``: the version read before, kept through a transient failure (5xx, 429,
    API down), so one failed resync does not make it unknown until the next; a 403 or
    404 is an answer (the read was revoked, the Deployment is gone) and forgets it."""
    try:
        deployment: dict[str, Any] = client.get(rest.DEPLOYMENT, namespace, CONTROLLER)
    except (ServerError, TooManyRequests, ClusterUnavailable):
        return known
    except ClusterError:
        return None
    containers = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    listed = containers.get("containers") or []
    chosen = next((c for c in listed if c.get("name") == "manager"), listed[0] if listed else {})
    return version_of_image(str(chosen.get("image") or ""))
