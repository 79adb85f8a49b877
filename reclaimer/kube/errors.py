"""Kubernetes API failures as reclaimer's own error types.

Callers decide from the type alone (docs/design.md §5): 404 means "already done" for a delete,
409 means "re-read next tick", 429 carries the server's Retry-After, 5xx and 408 are worth
a retry with backoff, and no answer at all means nothing may be recorded as applied;
403 and every other 4xx are `Rejected`: the same request would be refused again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import urllib3
from kubernetes.client.exceptions import ApiException

from reclaimer.errors import (
    ClusterError,
    ClusterUnavailable,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    TooManyRequests,
    Transient,
)

DEFAULT_RETRY_AFTER = 1.0


def retry_after(headers: Mapping[str, str] | None) -> float:
    """Seconds from a Retry-After header; the API server sends whole seconds."""
    raw = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _message(status: int, reason: str, body: bytes | str | None) -> str:
    """The Status object's message when there is one, else the HTTP reason."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else (body or "")
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        parsed = {}
    detail = parsed.get("message") if isinstance(parsed, dict) else None
    return f"{status} {reason}: {detail or text[:200] or 'no detail'}"


_BY_STATUS: Mapping[int, type[ClusterError]] = {
    401: Transient,  # credentials not accepted: a rotated token is read again
    403: Forbidden, 404: NotFound, 408: ServerError, 409: Conflict,
}


def for_status(status: int, *, reason: str = "", body: bytes | str | None = None,
               headers: Mapping[str, str] | None = None) -> ClusterError:
    """The error for a non-2xx answer."""
    message = _message(status, reason, body)
    if status == 429:
        return TooManyRequests(message, retry_after=retry_after(headers), status=status)
    if status == 0:
        return ClusterUnavailable(message, status=None)
    kind = _BY_STATUS.get(status) or (
        ServerError if status >= 500 else Invalid if 400 <= status < 500 else ClusterError)
    return kind(message, status=status)


def from_exception(exc: Exception) -> ClusterError:
    """Map the official client's and urllib3's exceptions; raise the result ``from`` exc."""
    if isinstance(exc, ApiException):
        headers = dict(exc.headers or {}) if exc.headers else None
        return for_status(int(exc.status or 0), reason=str(exc.reason or ""), body=exc.body,
                          headers=headers)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return ClusterUnavailable(f"Kubernetes API unreachable: {exc}")
    return ClusterError(f"Kubernetes API call failed: {exc}")
