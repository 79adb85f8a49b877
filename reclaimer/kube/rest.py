"""JSON requests through the official client's ApiClient, and a line-by-line watch.

The generated typed APIs of kubernetes 37 validate bodies as pydantic models and return
models; the adapter works on plain dicts (what `isvc.service_from_isvc` and the ledger
take), so it serialises requests itself but keeps the official client's transport:
configuration, authentication, TLS and the urllib3 pool. Every request is counted, so
tests can assert that a tick costs O(1) calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from kubernetes import client

from reclaimer import kserve
from reclaimer.errors import ClusterError
from reclaimer.kube import errors, listing
from reclaimer.model import ServiceKind

Obj = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"
DEFAULT_TIMEOUT = 30.0
LIST_PAGE = 500
"""Items per request of `Rest.list_items` (kubectl's page size): the text of a page,
not of the whole cluster-wide LIST, is what is held while its items are decoded."""


@dataclass(frozen=True)
class Kind:
    """Where a resource lives: group ("" = core), version, plural, namespaced or not."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        parts = [base]
        if self.namespaced and namespace is not None:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if subresource is not None:
            parts.append(subresource)
        return "/".join(parts)


SERVICE_KINDS = {kind: Kind(kserve.GROUP, info.version, info.plural)
                 for kind, info in kserve.KINDS.items()}
"""The API path of each KServe kind reclaimer governs (`model.ServiceKind`)."""
ISVC = SERVICE_KINDS[ServiceKind.INFERENCE_SERVICE]
SERVING_RUNTIME = Kind(kserve.GROUP, kserve.RUNTIME_VERSION, kserve.RUNTIME_PLURAL)
POD = Kind("", "v1", "pods")
DEPLOYMENT = Kind("apps", "v1", "deployments")
CONFIGMAP = Kind("", "v1", "configmaps")
EVENT = Kind("", "v1", "events")
LEASE = Kind("coordination.k8s.io", "v1", "leases")
POLICY = Kind("reclaimer.io", "v1alpha1", "reclaimpolicies")
SCALED_OBJECT = Kind("keda.sh", "v1alpha1", "scaledobjects")
HPA = Kind("autoscaling", "v2", "horizontalpodautoscalers")
ROLLOUT = Kind("argoproj.io", "v1alpha1", "rollouts")


class Rest:
    """Thread-safe (the urllib3 pool is); ``calls`` counts requests by method."""

    def __init__(self, api_client: client.ApiClient, *, timeout: float = DEFAULT_TIMEOUT,
                 field_manager: str = "reclaimer", page_size: int = LIST_PAGE) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self.page_size = page_size
        self.field_manager = field_manager
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def total_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def _count(self, method: str) -> None:
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def _url(self, path: str, query: Mapping[str, str] | None) -> str:
        host = str(self.api_client.configuration.host).rstrip("/")
        return f"{host}{path}" + (f"?{urlencode(query)}" if query else "")

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": JSON, "User-Agent": "reclaimer"}
        if content_type:
            headers["Content-Type"] = content_type
        self.api_client.update_params_for_auth(headers, [], ["BearerToken"], "", "", None)
        return headers

    def request(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                body: Obj | None = None, content_type: str | None = None,
                timeout: float | None = None) -> Obj:
        """One request; a non-2xx answer or no answer raises a typed ClusterError."""
        return _decode(self._send(method, path, query=query, body=body,
                                  content_type=content_type, timeout=timeout))

    def _send(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
              body: Obj | None = None, content_type: str | None = None,
              timeout: float | None = None) -> bytes:
        self._count(method)
        ctype = content_type or (JSON if body is not None else None)
        try:
            response = self.api_client.rest_client.request(  # type: ignore[no-untyped-call]
                method, self._url(path, query), headers=self._headers(ctype), body=body,
                _request_timeout=timeout or self.timeout)
            raw: bytes = response.read()
        except Exception as exc:
            raise errors.from_exception(exc) from exc
        if not 200 <= response.status < 300:
            raise errors.for_status(response.status, reason=str(response.reason or ""),
                                    body=raw, headers=dict(response.headers or {}))
        return raw

    def get(self, kind: Kind, namespace: str | None, name: str) -> Obj:
        return self.request("GET", kind.path(namespace, name))

    def list(self, kind: Kind, namespace: str | None = None, *,
             label_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> Obj:
        query = {"labelSelector": label_selector} if label_selector else {}
        if limit is not None:
            query["limit"] = str(limit)
        if continue_token:
            query["continue"] = continue_token
        return self.request("GET", kind.path(namespace), query=query or None)

    def list_items(self, kind: Kind, *, namespace: str | None = None,
                   label_selector: str | None = None) -> Iterator[Obj]:
        """One LIST (cluster-wide unless ``namespace``) read in pages of ``page_size``
        (``limit``/``continue``: one consistent snapshot) whose items are decoded one at
        a time (`listing.items`): the caller reduces each before the next exists, and
        only one page's text is held, not 10-20 MB for 10,000 ISVCs. Malformed JSON is
        a ClusterError, and so is a continue token expired mid-LIST (410): the caller
        fails as for any failed LIST and asks again next tick."""
        query = {"labelSelector": label_selector} if label_selector else {}
        query["limit"] = str(self.page_size)
        while True:
            try:
                text = self._send("GET", kind.path(namespace), query=query).decode()
                metadata = yield from listing.items(text)
            except ValueError as exc:
                raise errors.from_exception(exc) from exc
            token = metadata.get("continue")
            if not token or not isinstance(token, str):
                return
            query["continue"] = token

    def create(self, kind: Kind, namespace: str | None, body: Obj) -> Obj:
        return self.request("POST", kind.path(namespace), body=body,
                            query={"fieldManager": self.field_manager})

    def replace(self, kind: Kind, namespace: str | None, name: str, body: Obj,
                *, subresource: str | None = None) -> Obj:
        return self.request("PUT", kind.path(namespace, name, subresource), body=body,
                            query={"fieldManager": self.field_manager})

    def merge_patch(self, kind: Kind, namespace: str | None, name: str, body: Obj,
                    *, subresource: str | None = None) -> Obj:
        return self.request("PATCH", kind.path(namespace, name, subresource), body=body,
                            content_type=MERGE_PATCH,
                            query={"fieldManager": self.field_manager})

    def watch(self, kind: Kind, *, resource_version: str, timeout_seconds: int,
              label_selector: str | None = None, namespace: str | None = None
              ) -> Iterator[Obj]:
        """Watch events (``{"type", "object"}``) until the server closes the stream;
        cluster-wide unless ``namespace``."""
        query = {"watch": "true", "resourceVersion": resource_version,
                 "timeoutSeconds": str(timeout_seconds), "allowWatchBookmarks": "true"}
        if label_selector:
            query["labelSelector"] = label_selector
        self._count("WATCH")
        try:
            response = self.api_client.rest_client.request(  # type: ignore[no-untyped-call]
                "GET", self._url(kind.path(namespace), query), headers=self._headers(None),
                _request_timeout=(10.0, timeout_seconds + 10.0))
        except Exception as exc:
            raise errors.from_exception(exc) from exc
        if response.status != 200:
            raise errors.for_status(response.status, reason=str(response.reason or ""),
                                    body=response.read())
        yield from _lines(response)


def _lines(response: Any) -> Iterator[Obj]:
    buffer = b""
    try:
        for chunk in response.response.stream(65536, decode_content=True):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    yield _decode(line)
    except ClusterError:
        raise
    except Exception as exc:
        raise errors.from_exception(exc) from exc
    finally:
        response.response.release_conn()


def _decode(raw: bytes | str | None) -> Obj:
    if not raw:
        return {}
    parsed = json.loads(raw)
    return parsed if isinstance(parsed, dict) else {"items": parsed}
