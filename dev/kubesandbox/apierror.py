"""The one error type of the sandbox API server, shaped like a Kubernetes ``Status``.

Kept in its own module so the registry, the store and the HTTP layer can all raise it
without importing each other; ``store.ApiError`` re-exports it for callers.
"""

from __future__ import annotations

from typing import Any

REASONS: dict[int, str] = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
    415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
    500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


class ApiError(Exception):
    """A failed API call; ``status()`` is the exact body the real API server would send."""

    def __init__(self, code: int, message: str, *, reason: str | None = None,
                 details: dict[str, Any] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or REASONS.get(code, "Unknown")
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        details = dict(self.details or {})
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        body: dict[str, Any] = {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code}
        if details:
            body["details"] = details
        return body


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(404, f'{_qualified(group, plural)} "{name}" not found',
                    details=_details(group, plural, name))


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(409, f'{_qualified(group, plural)} "{name}" already exists',
                    reason="AlreadyExists", details=_details(group, plural, name))


def conflict(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409, f'Operation cannot be fulfilled on {_qualified(group, plural)} "{name}": '
        "the object has been modified; please apply your changes to the latest version "
        "and try again", reason="Conflict", details=_details(group, plural, name))


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 with one cause per bad field, so the message names the field."""
    text = "; ".join(f"{field}: {why}" for field, why in causes)
    return ApiError(422, f'{kind}{"." + group if group else ""} "{name}" is invalid: {text}',
                    details={"name": name, "group": group, "kind": kind,
                             "causes": [{"reason": "FieldValueInvalid", "message": why,
                                         "field": field} for field, why in causes]})


def _qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def _details(group: str, plural: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        out["group"] = group
    return out
