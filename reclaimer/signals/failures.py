"""One line for a failed query: no long URL, no traceback (the adapter's messages)."""

from __future__ import annotations

import re

import requests

_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")


def short(exc: BaseException | str, limit: int = 300) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "..."


def transport(exc: BaseException, waited: float) -> str:
    """Name the failure without the (long) query URL that requests puts in messages."""
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
        return f"Timeout: no answer within {waited:.3g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS: " + tls_reason(text) + " (check prometheus.tls)"
    if isinstance(exc, requests.ConnectionError):
        return "ConnectionError: " + text.rsplit("(Caused by ", 1)[-1].rstrip(")")[:200]
    return f"{type(exc).__name__}: {short(exc)}"


def tls_reason(text: str) -> str:
    """The SSL library's reason (``certificate verify failed: ...``), without the URL."""
    for marker in ("certificate verify failed", "SSL:", "SSLError"):
        at = text.find(marker)
        if at >= 0:
            reason = _SSL_LOCATION.sub("", text[at:]).split("')", 1)[0]
            return reason.rstrip(")\"'")[:200]
    return short(text, 200)
