"""Build the official client's ApiClient from a kubeconfig or the pod's service account.

Retries are switched off in urllib3: the executor owns retry policy (backoff for 5xx,
Retry-After for 429, next tick for everything else), and a down API server must fail
fast so nothing is recorded as applied.
"""

from __future__ import annotations

from pathlib import Path

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from reclaimer.errors import ConfigInvalid

NO_RETRIES = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0)


def _no_retries(configuration: client.Configuration) -> client.Configuration:
    configuration.retries = NO_RETRIES
    return configuration


def api_client_for_host(host: str) -> client.ApiClient:
    """A client for an unauthenticated server such as the sandbox (``http://127.0.0.1:P``)."""
    configuration = client.Configuration()
    configuration.host = host
    return client.ApiClient(_no_retries(configuration))


def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """``kubeconfig`` if given; else in-cluster; else ``~/.kube/config`` (DESIGN §8)."""
    configuration = client.Configuration()
    try:
        if kubeconfig is not None:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration)
        else:
            _load_default(configuration)
    except (ConfigException, OSError) as exc:
        raise ConfigInvalid(key="kubeconfig", message=str(exc)) from exc
    return client.ApiClient(_no_retries(configuration))


def _load_default(configuration: client.Configuration) -> None:
    try:
        config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration)
    except ConfigException:
        path = Path.home() / ".kube" / "config"
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(path), client_configuration=configuration)
