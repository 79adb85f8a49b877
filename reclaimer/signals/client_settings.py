"""How the Prometheus client connects: headers, TLS (``prometheus.headers``, ``.tls``).

::

    prometheus:
      headers: {X-Scope-OrgID: team-a}   # sent with every query (Mimir tenant, ...)
      bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
      tls:
        caFile: /etc/prometheus-ca/ca.crt   # CA bundle for an https URL
        insecureSkipVerify: false           # never verify the server (tests only)
        certFile: /etc/client/tls.crt       # client certificate (mutual TLS)
        keyFile: /etc/client/tls.key        # its key (default: inside certFile)

Flat environment spellings: ``RECLAIMER_PROMETHEUS_HEADERS="X-Scope-OrgID=team-a,X-B=c"``
(header names keep their case there), ``RECLAIMER_PROMETHEUS_TLS_CA_FILE`` and so on
(``tlsCaFile``, ``tlsInsecureSkipVerify``, ``tlsCertFile``, ``tlsKeyFile``). The older
``prometheus.caFile`` still works and means ``tls.caFile``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reclaimer.errors import ConfigInvalid
from reclaimer.model import EMPTY

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TLS_KEYS = {"caFile": "ca_file", "insecureSkipVerify": "insecure_skip_verify",
             "certFile": "cert_file", "keyFile": "key_file"}
FLAT_TLS = {"tls" + k[0].upper() + k[1:]: k for k in _TLS_KEYS}  # tlsCaFile -> caFile
CLIENT_KEYS = {"headers", "tls", *FLAT_TLS}


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    cert_file: str | None = None
    key_file: str | None = None


def parse_headers(value: object, key: str) -> Mapping[str, str]:
    """A mapping of header to value, or ``Name=value,Name=value`` from the environment."""
    if value is None:
        return EMPTY
    if isinstance(value, str):
        value = dict(_pair(part, key) for part in value.split(",") if part.strip())
    if not isinstance(value, Mapping):
        raise ConfigInvalid(key=key, message="must be a mapping of header name to value")
    headers: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ConfigInvalid(key=f"{key}.{name}", message="is not a valid header name")
        if name.lower() == "authorization":
            raise ConfigInvalid(key=f"{key}.{name}",
                                message="set bearerTokenFile instead (it is re-read as it "
                                        "rotates)")
        if not isinstance(text, str | int) or isinstance(text, bool) or _bad_value(str(text)):
            raise ConfigInvalid(key=f"{key}.{name}",
                                message=f"{text!r} must be a non-empty single-line string")
        headers[name] = str(text).strip()
    return headers


def _pair(part: str, key: str) -> tuple[str, str]:
    name, sep, text = part.partition("=")
    if not sep:
        raise ConfigInvalid(key=key, message=f"{part.strip()!r} is not Name=value")
    return name.strip(), text.strip()


def _bad_value(text: str) -> bool:
    return not text.strip() or any(c in text for c in "\r\n\0")


def parse_tls(data: Mapping[str, Any], prefix: str) -> TlsSettings:
    """``tls:`` (or its flat spellings, or the older ``caFile``); errors name the key."""
    section = data.get("tls")
    if section is not None and not isinstance(section, Mapping):
        raise ConfigInvalid(key=f"{prefix}.tls", message="must be a mapping")
    merged: dict[str, Any] = {"caFile": data["caFile"]} if data.get("caFile") else {}
    merged.update(section or {})  # the flat (environment) spellings win over the file
    merged.update({FLAT_TLS[k]: v for k, v in data.items() if k in FLAT_TLS})
    parsed: dict[str, Any] = {}
    for name, value in merged.items():
        attr = _TLS_KEYS.get(name)
        if attr is None:
            raise ConfigInvalid(key=f"{prefix}.tls.{name}",
                                message=f"unknown setting (one of {', '.join(_TLS_KEYS)})")
        parse = _flag if name == "insecureSkipVerify" else _path
        parsed[attr] = parse(f"{prefix}.tls.{name}", value)
    return _consistent(TlsSettings(**parsed), f"{prefix}.tls")


def _consistent(tls: TlsSettings, key: str) -> TlsSettings:
    if tls.key_file is not None and tls.cert_file is None:
        raise ConfigInvalid(key=f"{key}.keyFile", message="needs certFile")
    if tls.insecure_skip_verify and tls.ca_file is not None:
        raise ConfigInvalid(key=f"{key}.insecureSkipVerify",
                            message="contradicts caFile (set one of them)")
    return tls


def _path(key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigInvalid(key=key, message=f"{value!r} must be a file path")
    return value.strip()


def _flag(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", ""}:
        return False
    raise ConfigInvalid(key=key, message=f"{value!r} must be true or false")
