"""reclaimer's writes carry its field manager, as the real API server records it.

`service.recording` tells reclaimer's own stops from other people's by the
``managedFields`` entry that owns the stop annotation; the managed Raw stop's mark is the
autoscaler class. Both must name ``reclaimer`` on the real kube-apiserver, with the real
KServe controller and webhook writing the same object.
"""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.kube.isvc import stop_change
from reclaimer.model import Action
from tests.controlplane.world import RealWorld
from tests.e2e.harness import wait_for

pytestmark = pytest.mark.timeout(300)
CLASS_FIELD = ("f:metadata", "f:annotations", "f:serving.kserve.io/autoscalerClass")


def _owners(obj: dict[str, Any], path: tuple[str, ...]) -> list[str]:
    found = []
    for entry in obj["metadata"].get("managedFields") or []:
        node: Any = entry.get("fieldsV1") or {}
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            found.append(str(entry.get("manager")))
    return found


def test_the_stop_annotation_is_owned_by_reclaimer(world: RealWorld) -> None:
    world.serving("llama")
    harness = world.executor(strategy="native")
    harness.apply(Action.STOP, "llama")
    wait_for(lambda: world.isvc("llama")["metadata"].get("managedFields"), timeout=30,
             what="managedFields on the ISVC")
    obj = world.isvc("llama")
    assert stop_change(obj["metadata"].get("managedFields"))[1] == "reclaimer", (
        obj["metadata"].get("managedFields"))


def test_the_managed_stops_class_is_owned_by_reclaimer(world: RealWorld) -> None:
    world.serving("llama")
    harness = world.executor(strategy="managed")
    harness.apply(Action.STOP, "llama")
    obj = world.isvc("llama")
    assert _owners(obj, CLASS_FIELD) == ["reclaimer"], obj["metadata"].get("managedFields")
