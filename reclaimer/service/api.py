"""The owners' HTTP API (issue 19), on its own port, apart from probes and metrics.

    POST /v1/namespaces/{ns}/inferenceservices/{name}:snooze?until=RFC3339[&reason=...]
    POST /v1/namespaces/{ns}/inferenceservices/{name}:start
    POST /v1/namespaces/{ns}/inferenceservices/{name}:stop
    GET  /v1/namespaces/{ns}/inferenceservices/{name}/status

Every request carries ``Authorization: Bearer <token>``. The order is fixed and fails
closed: no or unknown token is 401; the caller may not ``patch`` the ISVC (``get``
for status) is 403; a TokenReview or SubjectAccessReview that could not be asked (API
server down) is 503 — in each case nothing has been read or changed. Only then does
the action run (`reclaimer.service.owners`). Who the caller is comes from the
TokenReview alone; nothing in the request names a user.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reclaimer.errors import ClusterError, InvalidInput, NotFound, ReclaimerError
from reclaimer.kube.reviews import Caller, Reviewer
from reclaimer.model import Action, ServiceRef
from reclaimer.service.http import BackgroundServer
from reclaimer.service.owners import Owners

log = logging.getLogger("reclaimer.api")
PATH = re.compile(r"^/v1/namespaces/(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/inferenceservices/"
                  r"(?P<name>[a-z0-9]([-a-z0-9.]*[a-z0-9])?)(?P<op>:snooze|:start|:stop|/status)$")
METHODS = {":snooze": "POST", ":start": "POST", ":stop": "POST", "/status": "GET"}


class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_until(text: str | None) -> datetime:
    if not text:
        raise ApiError(400, "until: required, an RFC 3339 instant with an offset")
    try:
        until = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, f"until: {text!r} is not an RFC 3339 instant") from exc
    if until.tzinfo is None:
        raise ApiError(400, f"until: {text!r} has no offset (add Z or +01:00)")
    return until


class OwnersApi:
    """Route, authenticate, authorise, act; `handle` returns (code, JSON body)."""

    def __init__(self, owners: Owners, reviewer: Reviewer) -> None:
        self.owners = owners
        self.reviewer = reviewer

    def handle(self, method: str, target: str, authorization: str | None
               ) -> tuple[int, dict[str, Any]]:
        op = "unknown"
        try:
            ref, op, query = _route(method, target)
            caller = self._caller(authorization)
            self._authorise(caller, op=op, ref=ref)
            code, body = 200, self._act(ref, op, query, caller)
        except ApiError as exc:
            code, body = exc.code, {"error": exc.message}
        except NotFound as exc:
            code, body = 404, {"error": str(exc)}
        except InvalidInput as exc:
            code, body = 400, {"error": str(exc)}
        except ReclaimerError as exc:
            code, body = 503, {"error": str(exc)}
        self.owners.metrics.requests.labels(action=op.strip(":/"), code=str(code)).inc()
        return code, body

    def _caller(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "a bearer token is required (Authorization: Bearer ...)")
        try:
            caller = self.reviewer.authenticate(token.strip())
        except ClusterError as exc:
            log.warning("TokenReview failed, request refused: %s", exc)
            raise ApiError(503, "cannot verify the token now; nothing was changed") from exc
        if caller is None:
            raise ApiError(401, "the token was not accepted by the API server")
        return caller

    def _authorise(self, caller: Caller, *, op: str, ref: ServiceRef) -> None:
        verb = "get" if op == "/status" else "patch"
        try:
            allowed = self.reviewer.allowed(caller, verb=verb, ref=ref)
        except ClusterError as exc:
            log.warning("SubjectAccessReview failed, request refused: %s", exc)
            raise ApiError(503, "cannot check permissions now; nothing was changed") from exc
        if not allowed:
            log.info("%s may not %s %s: refused", caller.username, verb, ref)
            raise ApiError(403, f"{caller.username} may not {verb} inferenceservices "
                           f"{ref.name} in namespace {ref.namespace}")

    def _act(self, ref: ServiceRef, op: str, query: dict[str, str],
             caller: Caller) -> dict[str, Any]:
        if op == "/status":
            return self.owners.status(ref)
        log.info("%s asks %s of %s via api", caller.username, op.strip(":"), ref)
        if op == ":snooze":
            return self.owners.snooze(ref, until=parse_until(query.get("until")),
                                      reason=query.get("reason", ""), caller=caller)
        action = Action.START if op == ":start" else Action.STOP
        return self.owners.transition(ref, action, caller=caller)


def _route(method: str, target: str) -> tuple[ServiceRef, str, dict[str, str]]:
    parts = urlsplit(target)
    match = PATH.match(parts.path)
    if match is None:
        raise ApiError(404, "no such API path; see docs/owners.md")
    op = match["op"]
    if method != METHODS[op]:
        raise ApiError(405, f"{op.strip(':/')} takes {METHODS[op]}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return ServiceRef(match["ns"], match["name"]), op, query


class ApiServer(BackgroundServer):
    def __init__(self, api: OwnersApi, *, host: str, port: int) -> None:
        super().__init__(_handler_class(api.handle), host=host, port=port,
                         key="api.port", name="reclaimer-api")


Handle = Callable[[str, str, str | None], tuple[int, dict[str, Any]]]


def _handler_class(handle: Handle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 65536))  # ignored: nothing is read from a body
            self._answer("POST")

        def _answer(self, method: str) -> None:
            code, body = handle(method, self.path, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if code == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="reclaimer"')
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Each request is logged by the API with its caller, not here."""

    return Handler
