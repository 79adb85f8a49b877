"""Build the official client's ApiClient from a kubeconfig or the pod's service account.

Which kubeconfig is kubectl's choice, so a terminal that works for ``kubectl`` works for
``reclaimer`` (docs/design.md §8): an explicit file (``--kubeconfig``, or the
``kubeconfig`` setting / ``RECLAIMER_KUBECONFIG``), else ``$KUBECONFIG`` (a
``:``-separated list, merged; missing entries skipped), else ``~/.kube/config``, else
the pod's service account. Every refusal names the files it tried.

Retries are switched off in urllib3: the executor owns retry policy (backoff for 5xx,
Retry-After for 429, next tick for everything else), and a down API server must fail
fast so nothing is recorded as applied.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from reclaimer.errors import ConfigInvalid

NO_RETRIES = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0)
IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"


@dataclass(frozen=True)
class KubeconfigChoice:
    """Where the client's configuration comes from: files (merged) or the pod."""

    files: tuple[Path, ...]
    tried: str
    """What was looked at, for the error message (``$KUBECONFIG=a:b``, a path...)."""

    @property
    def in_cluster(self) -> bool:
        return not self.files


def _no_retries(configuration: client.Configuration) -> client.Configuration:
    configuration.retries = NO_RETRIES
    return configuration


def api_client_for_host(host: str) -> client.ApiClient:
    """A client for an unauthenticated server such as the sandbox (``http://127.0.0.1:P``)."""
    configuration = client.Configuration()
    configuration.host = host
    return client.ApiClient(_no_retries(configuration))


def choose_kubeconfig(explicit: str | None, *, env: Mapping[str, str]) -> KubeconfigChoice:
    """kubectl's order; an explicit file must exist, a ``$KUBECONFIG`` entry may not."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigInvalid(key="kubeconfig", message=f"{path}: no such file")
        return KubeconfigChoice(files=(path,), tried=str(path))
    listed = env.get("KUBECONFIG", "")
    if listed:
        files = tuple(Path(p).expanduser() for p in listed.split(os.pathsep) if p)
        existing = tuple(p for p in files if p.is_file())
        if existing:
            return KubeconfigChoice(files=existing, tried=f"$KUBECONFIG={listed}")
        return _in_cluster(env, tried=f"$KUBECONFIG={listed} (no such file)")
    home = Path(env.get("HOME") or Path.home()) / ".kube" / "config"
    if home.is_file():
        return KubeconfigChoice(files=(home,), tried=str(home))
    return _in_cluster(env, tried=f"{home} (no such file)")


def _in_cluster(env: Mapping[str, str], *, tried: str) -> KubeconfigChoice:
    if not env.get(IN_CLUSTER_ENV):
        raise ConfigInvalid(key="kubeconfig", message=(
            f"no cluster to talk to: tried {tried}, then in-cluster (${IN_CLUSTER_ENV} "
            "is not set); pass --kubeconfig FILE or set KUBECONFIG"))
    return KubeconfigChoice(files=(), tried=f"{tried}, then in-cluster")


def load_api_client(kubeconfig: str | None = None, *,
                    env: Mapping[str, str] | None = None) -> client.ApiClient:
    """The client for ``kubeconfig`` or kubectl's default lookup (module docstring)."""
    choice = choose_kubeconfig(kubeconfig, env=os.environ if env is None else env)
    configuration = client.Configuration()
    try:
        if choice.in_cluster:
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration)
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.pathsep.join(str(p) for p in choice.files),
                client_configuration=configuration)
    except UnicodeDecodeError as exc:
        raise ConfigInvalid(key="kubeconfig",
                            message=f"{choice.tried}: not a UTF-8 text file") from exc
    except (ConfigException, OSError, yaml.YAMLError, TypeError, ValueError) as exc:
        raise ConfigInvalid(key="kubeconfig", message=f"{choice.tried}: {exc}") from exc
    return client.ApiClient(_no_retries(configuration))
