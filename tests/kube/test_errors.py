"""Library failures map to reclaimer's error types, with Retry-After kept."""

from __future__ import annotations

import pytest
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
    is_transient,
)
from reclaimer.kube import errors


@pytest.mark.parametrize(("status", "expected"), [
    pytest.param(404, NotFound, id="404"),
    pytest.param(409, Conflict, id="409"),
    pytest.param(429, TooManyRequests, id="429"),
    pytest.param(500, ServerError, id="500"),
    pytest.param(503, ServerError, id="503"),
    pytest.param(403, Forbidden, id="403"),
    pytest.param(422, Invalid, id="422"),
    pytest.param(400, Invalid, id="400"),
    pytest.param(408, ServerError, id="408-timeout"),
    pytest.param(401, Transient, id="401-credentials"),
    pytest.param(0, ClusterUnavailable, id="0-no-answer"),
])
def test_status_maps_to_type(status: int, expected: type[ClusterError]) -> None:
    assert type(errors.for_status(status)) is expected


@pytest.mark.parametrize(("headers", "seconds"), [
    pytest.param({"Retry-After": "7"}, 7.0, id="header"),
    pytest.param({"retry-after": "2"}, 2.0, id="lowercase"),
    pytest.param({}, errors.DEFAULT_RETRY_AFTER, id="absent"),
    pytest.param({"Retry-After": "soon"}, errors.DEFAULT_RETRY_AFTER, id="unparsable"),
])
def test_retry_after_comes_from_the_header(headers: dict[str, str], seconds: float) -> None:
    exc = errors.for_status(429, headers=headers)
    assert isinstance(exc, TooManyRequests) and exc.retry_after == seconds


def test_status_message_is_taken_from_the_status_body() -> None:
    body = b'{"kind":"Status","message":"the object has been modified"}'
    assert "the object has been modified" in str(errors.for_status(409, body=body))


@pytest.mark.parametrize(("exc", "expected"), [
    pytest.param(ApiException(status=404, reason="Not Found"), NotFound, id="api-404"),
    pytest.param(ApiException(status=0, reason="ssl"), ClusterUnavailable, id="api-0"),
    pytest.param(urllib3.exceptions.MaxRetryError(None, "/", None), ClusterUnavailable,  # type: ignore[arg-type]
                 id="urllib3-max-retry"),
    pytest.param(urllib3.exceptions.ProtocolError("reset"), ClusterUnavailable,
                 id="urllib3-protocol"),
    pytest.param(ConnectionRefusedError(), ClusterUnavailable, id="refused"),
    pytest.param(ValueError("odd"), ClusterError, id="other"),
])
def test_library_exceptions_map_to_types(exc: Exception, expected: type[ClusterError]) -> None:
    assert type(errors.from_exception(exc)) is expected


@pytest.mark.parametrize(("status", "transient"), [
    pytest.param(409, True, id="409"),
    pytest.param(429, True, id="429"),
    pytest.param(500, True, id="5xx"),
    pytest.param(408, True, id="408"),
    pytest.param(0, True, id="no-answer"),
    pytest.param(400, False, id="400"),
    pytest.param(403, False, id="403"),
    pytest.param(422, False, id="422"),
    pytest.param(404, False, id="404"),
])
def test_case5_errors_are_classed_once(status: int, transient: bool) -> None:
    assert is_transient(errors.for_status(status)) is transient
