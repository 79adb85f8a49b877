"""Probes and metrics over plain HTTP: /healthz, /readyz, /metrics.

/readyz reports leader or follower and the age of the last successful tick; a replica
whose loop has stalled for several ticks is not ready, so Kubernetes restarts it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from reclaimer.errors import ConfigInvalid


@dataclass(frozen=True)
class Readiness:
    ready: bool
    role: str
    last_tick_age_seconds: float | None
    detail: str = ""


def readiness_of(role: str, last_success: datetime | None, *, now: datetime,
                 tick: timedelta, slow: str | None, refusal: str | None = None) -> Readiness:
    """Ready unless the loop stalled or the leader may not write (``refusal``: the
    ledger's schema is another release's); slow evaluations are said in the detail only."""
    if last_success is None:
        return Readiness(ready=role == "follower" and refusal is None, role=role,
                         last_tick_age_seconds=None,
                         detail="; ".join(filter(None, [refusal, "no tick yet", slow])))
    age = (now - last_success).total_seconds()
    stale = age > 5 * tick.total_seconds()
    return Readiness(ready=not stale and refusal is None, role=role,
                     last_tick_age_seconds=round(age, 3), detail="; ".join(
                         filter(None, [refusal, "loop stalled" if stale else "", slow])))


class BackgroundServer:
    """An HTTP server on its own daemon thread; a port that cannot be bound is a config
    error naming the setting (``key``), not a traceback."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str, port: int,
                 key: str, name: str) -> None:
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise ConfigInvalid(key=key, message=(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}")) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=name)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ProbeServer(BackgroundServer):
    def __init__(self, registry: CollectorRegistry, readiness: Callable[[], Readiness],
                 *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_handler_class(registry, readiness), host=host, port=port,
                         key="http.port", name="reclaimer-http")


class _QuietHandler(BaseHTTPRequestHandler):
    """Whole bodies with their length, and no access log."""

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds would flood the decision log."""


def _handler_class(registry: CollectorRegistry,
                   readiness: Callable[[], Readiness]) -> type[BaseHTTPRequestHandler]:
    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, b"ok\n", "text/plain")
            elif path == "/readyz":
                state = readiness()
                body = json.dumps({"ready": state.ready, "role": state.role,
                                   "lastTickAgeSeconds": state.last_tick_age_seconds,
                                   "detail": state.detail}).encode()
                self._send(200 if state.ready else 503, body, "application/json")
            elif path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            else:
                self._send(404, b"not found\n", "text/plain")

    return Handler
