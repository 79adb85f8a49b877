"""Every dotted setting key, the attribute it sets and the parser that checks its value;
each error names the key."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from reclaimer.errors import ConfigInvalid, InvalidInput
from reclaimer.policy.durations import parse_duration


def parse_duration_value(key: str, value: object) -> timedelta:
    """The policy grammar (``30s``, ``5m``, ``1h30m``), errors naming the config key."""
    try:
        return parse_duration(str(value))
    except InvalidInput as exc:
        raise ConfigInvalid(key=key, message=str(exc)) from exc


def _positive_duration(key: str, value: object) -> timedelta:
    """A period something waits or repeats: zero would spin, so at least one second."""
    duration = parse_duration_value(key, value)
    if duration < timedelta(seconds=1):
        raise ConfigInvalid(key=key, message=f"{value!r} is shorter than the minimum 1s")
    return duration


def _int(key: str, value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigInvalid(key=key, message=f"{value!r} is not an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigInvalid(key=key, message=f"{value!r} is not an integer") from exc
    if number < minimum:
        raise ConfigInvalid(key=key, message=f"{number} is below the minimum {minimum}")
    return number


def _positive_int(key: str, value: object) -> int:
    return _int(key, value, minimum=1)


def _port(key: str, value: object) -> int:
    port = _int(key, value)
    if port > 65535:
        raise ConfigInvalid(key=key, message=f"{port} is not a TCP port")
    return port


def _fraction(key: str, value: object) -> float:
    try:
        number = float(str(value))
    except ValueError as exc:
        raise ConfigInvalid(key=key, message=f"{value!r} is not a number") from exc
    if not 0 < number <= 1:
        raise ConfigInvalid(key=key, message=f"{number} must be in (0, 1]")
    return number


def _bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ConfigInvalid(key=key, message=f"{value!r} is not a boolean (true or false)")


def _text(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigInvalid(key=key, message=f"{value!r} must be a non-empty string")
    return value.strip()


def _optional_text(key: str, value: object) -> str | None:
    return None if value is None or value == "" else _text(key, value)


def _strategy(key: str, value: object) -> str:
    if value not in {"auto", "native", "managed"}:
        raise ConfigInvalid(key=key, message=f"{value!r} is not one of auto, native, managed")
    return str(value)


def _kserve_version(key: str, value: object) -> str | None:
    text = _optional_text(key, None if value is None else str(value))
    if text is not None and not re.match(r"^v?0\.\d+(\.\d+)?$", text):
        raise ConfigInvalid(key=key, message=f"{value!r} is not a KServe release like 0.15.2")
    return text


def _paths(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p for p in value.split(",") if p)
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return tuple(value)
    raise ConfigInvalid(key=key, message=f"{value!r} must be a list of paths")


_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _namespaces(key: str, value: object) -> tuple[str, ...]:
    """A list, or one comma-separated string (the environment); each a namespace name."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ConfigInvalid(key=key, message=f"{value!r} must be a list of namespaces")
    for name in value:
        if not _NAMESPACE.match(name):
            raise ConfigInvalid(key=key, message=f"{name!r} is not a namespace name")
    return tuple(dict.fromkeys(value))


def _database(key: str, value: object) -> str:
    url = _text(key, value)
    if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", url):
        raise ConfigInvalid(
            key=key, message="must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    return url


Parser = Callable[[str, object], Any]

# dotted key -> (dataclass attribute path, parser)
KEYS: dict[str, tuple[str, Parser]] = {
    "database": ("database", _database),
    "kubeconfig": ("kubeconfig", _optional_text),
    "policies": ("policies", _paths),
    "tick": ("tick", _positive_duration),
    "actor": ("actor", _text),
    "executor.strategy": ("executor.strategy", _strategy),
    "executor.verifyTimeout": ("executor.verify_timeout", _positive_duration),
    "executor.maxConcurrentStarts": ("executor.max_concurrent_starts", _positive_int),
    "executor.kserveVersion": ("executor.kserve_version", _kserve_version),
    "safety.maxStopsPerTick": ("safety.max_stops_per_tick", _int),
    "safety.massIdleFraction": ("safety.mass_idle_fraction", _fraction),
    "safety.massIdleMinimum": ("safety.mass_idle_minimum", _int),
    "safety.startLeadTime": ("safety.start_lead_time", parse_duration_value),
    "leaderElection.enabled": ("leader_election.enabled", _bool),
    "leaderElection.namespace": ("leader_election.namespace", _text),
    "leaderElection.name": ("leader_election.name", _text),
    "leaderElection.leaseDuration": ("leader_election.lease_duration", _positive_duration),
    "leaderElection.renewDeadline": ("leader_election.renew_deadline", _positive_duration),
    "leaderElection.retryPeriod": ("leader_election.retry_period", _positive_duration),
    "leaderElection.identity": ("leader_election.identity", _text),
    "http.host": ("http.host", _text),
    "http.port": ("http.port", _port),
    "api.enabled": ("api.enabled", _bool),
    "api.host": ("api.host", _text),
    "api.port": ("api.port", _port),
    "api.externalUrl": ("api.external_url", _optional_text),
    "kserve.namespace": ("kserve_namespace", _text),
    "watchNamespaces": ("watch_namespaces", _namespaces),
}
# Sections passed through whole to the part that owns them (validated there).
OPAQUE_SECTIONS = ("prometheus", "notify")
