"""Fake GPU nodes that the kwok controller plays the kubelet for.

A general pool with room for every test's services, and one tainted node with a single
GPU that only the freed-GPU test tolerates, so that test owns its GPU arithmetic.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
GENERAL_NODES = 3
GENERAL_GPUS = 8
EXCLUSIVE_NODE = "gpu-exclusive"
EXCLUSIVE_TAINT = {"key": "reclaimer.test/exclusive", "value": "true", "effect": "NoSchedule"}
POOL_LABEL = "reclaimer.test/pool"


def node(name: str, *, gpus: int, pool: str, taints: list[dict[str, str]]) -> dict[str, Any]:
    capacity = {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": str(gpus)}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": dict(KWOK_ANNOTATION),
                     "labels": {"type": "kwok", "kubernetes.io/hostname": name,
                                "kubernetes.io/os": "linux", POOL_LABEL: pool}},
        "spec": {"taints": taints},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


def create_nodes(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    for index in range(GENERAL_NODES):
        core.create_node(node(f"gpu-general-{index}", gpus=GENERAL_GPUS, pool="general",
                              taints=[]))
    core.create_node(node(EXCLUSIVE_NODE, gpus=1, pool="exclusive", taints=[EXCLUSIVE_TAINT]))
