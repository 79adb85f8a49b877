"""How kube-state-metrics names a pod's labels in ``kube_pod_labels``.

Kubernetes' naming, not KServe's: kept apart from `kserve`, which re-exports it.
Pure: no I/O, no imports.
"""

from __future__ import annotations


def ksm_label(key: str) -> str:
    """The label kube-state-metrics' ``kube_pod_labels`` gives a pod label: ``label_``
    plus the key with every character outside ``[a-zA-Z0-9_]`` made ``_``
    (``app.kubernetes.io/name`` is ``label_app_kubernetes_io_name``)."""
    return "label_" + "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_"
                              for c in key)
