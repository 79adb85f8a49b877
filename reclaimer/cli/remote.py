"""`reclaimer hold/start/stop --server URL`: the owners' API instead of the database.

An owner needs no database credentials: the CLI sends their own Kubernetes bearer
token (``--token``, ``$RECLAIMER_TOKEN``, else the one in their kubeconfig) and the
service decides with TokenReview and SubjectAccessReview who they are and whether they
may patch the service. The answer's refusal (401, 403, 503) is printed in one line.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from reclaimer.errors import ArgumentInvalid, ClusterUnavailable, ConfigInvalid, InvalidInput
from reclaimer.model import ServiceRef

TOKEN_ENV = "RECLAIMER_TOKEN"


class Refused(InvalidInput):
    """The owners' API said no (401, 403, 404, 400): exit 1 with its reason."""


def bearer_token(*, token: str | None, kubeconfig: str | None) -> str:
    if token:
        return token
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    from reclaimer.kube.client import load_api_client  # noqa: PLC0415 - keeps --help fast

    try:
        api_client = load_api_client(kubeconfig)
    except ConfigInvalid as exc:
        raise ArgumentInvalid(f"--token: none given and no kubeconfig to take one from "
                              f"({exc.message})") from exc
    try:
        keys = api_client.configuration.api_key
        header = keys.get("BearerToken") or keys.get("authorization") or ""
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
    scheme, _, value = str(header).partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise ArgumentInvalid("--token: the kubeconfig's user has no bearer token "
                              "(client certificates cannot be forwarded); pass --token")
    return value


def call(server: str, ref: ServiceRef, op: str, *, token: str,
         query: dict[str, str] | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """POST ``:op`` (or GET ``/status``); the JSON answer, or `Refused`/`ClusterUnavailable`."""
    path = (f"/v1/namespaces/{quote(ref.namespace)}/inferenceservices/{quote(ref.name)}"
            f"{'/status' if op == 'status' else ':' + op}")
    url = server.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
    request = urllib.request.Request(url, method="GET" if op == "status" else "POST",
                                     data=None if op == "status" else b"",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as exc:
        with exc:
            said = _error_of(exc.read())
        if exc.code >= 500:
            raise ClusterUnavailable(f"--server: {exc.code}: {said}") from exc
        raise Refused(f"--server: {exc.code}: {said}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ClusterUnavailable(f"--server: {server} did not answer: {exc}") from exc


def _error_of(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("error", raw.decode(errors="replace")))
    except (ValueError, AttributeError):
        return raw.decode(errors="replace")[:200]


def snooze(server: str, ref: ServiceRef, *, until: datetime, reason: str,
           token: str) -> str:
    got = call(server, ref, "snooze", token=token,
               query={"until": until.isoformat(), "reason": reason})
    cut = f" ({got['cut']})" if got.get("cut") else ""
    return f"{ref} snoozed until {got['until']} by {got['who']} via api{cut}"


def transition(server: str, ref: ServiceRef, action: str, *, token: str) -> tuple[str, str]:
    got = call(server, ref, action, token=token)
    return str(got["outcome"]), f"{action} {ref}: {got['outcome']}: {got.get('message', '')}" \
        f" (by {got['by']} via api)"
