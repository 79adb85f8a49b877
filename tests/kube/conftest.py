"""Adapter tests run against the sandbox with the official client over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.rest import Rest
from tests.fixtures.sandbox import SandboxHandle

NS = "team-a"
CRD = Path(__file__).resolve().parents[2] / "helm" / "reclaimer" / "crds" / "reclaimpolicy.yaml"
MakeRest = Callable[..., tuple[SandboxHandle, Rest]]


def policy_crd() -> dict[str, Any]:
    return dict(yaml.safe_load(CRD.read_text()))


def isvc(name: str, mode: str = "Standard", gpus: int = 1, **extra: Any) -> dict[str, Any]:
    return {"namespace": NS, "name": name, "mode": mode, "gpus": gpus, **extra}


@pytest.fixture
def make_rest(make_sandbox: Callable[..., SandboxHandle]) -> Iterator[MakeRest]:
    clients: list[Any] = []

    def factory(scenario: dict[str, Any]) -> tuple[SandboxHandle, Rest]:
        handle = make_sandbox({"podTerminationSeconds": 0, "namespaces": [NS], **scenario})
        api = api_client_for_host(handle.url)
        clients.append(api)
        return handle, Rest(api)

    yield factory
    for api in clients:
        api.close()
