"""Service settings: frozen values from a YAML file, the environment and flags (docs/design.md §8).

Precedence is defaults < file < environment < flags. Every key ``a.bC`` can be set as
``RECLAIMER_A_B_C`` (camelCase split at capitals). Unknown keys in the file are rejected,
so a typo never silently falls back to a default; every error names the dotted key.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from reclaimer.errors import ConfigInvalid, InvalidInput
from reclaimer.policy.durations import parse_duration


@dataclass(frozen=True)
class ExecutorSettings:
    strategy: str = "auto"
    verify_timeout: timedelta = timedelta(minutes=5)
    max_concurrent_starts: int = 20
    kserve_version: str | None = None
    """KServe's version where the controller Deployment cannot be read (e.g. "0.15.2")."""


@dataclass(frozen=True)
class SafetySettings:
    max_stops_per_tick: int = 50
    mass_idle_fraction: float = 0.5
    mass_idle_minimum: int = 5
    start_lead_time: timedelta = timedelta(0)


@dataclass(frozen=True)
class LeaderElectionSettings:
    enabled: bool = True
    namespace: str = "reclaimer"
    name: str = "reclaimer-leader"
    lease_duration: timedelta = timedelta(seconds=15)
    renew_deadline: timedelta = timedelta(seconds=10)
    retry_period: timedelta = timedelta(seconds=2)
    identity: str = ""


@dataclass(frozen=True)
class HttpSettings:
    host: str = "0.0.0.0"
    port: int = 8080


@dataclass(frozen=True)
class ApiSettings:
    """The owners' API (issue 19): snooze, start, stop, status, with Kubernetes RBAC."""

    enabled: bool = False
    host: str = "0.0.0.0"
    port: int = 8081
    external_url: str | None = None
    """How owners reach the API (the Ingress); put in notices as the snooze URL."""


@dataclass(frozen=True)
class Settings:
    database: str = "sqlite:///reclaimer.db"
    kubeconfig: str | None = None
    policies: tuple[str, ...] = ("policies/",)
    tick: timedelta = timedelta(seconds=30)
    prometheus: Mapping[str, Any] = field(
        default_factory=lambda: {"url": "http://prometheus:9090", "timeout": "10s"}
    )
    executor: ExecutorSettings = ExecutorSettings()
    safety: SafetySettings = SafetySettings()
    leader_election: LeaderElectionSettings = LeaderElectionSettings()
    http: HttpSettings = HttpSettings()
    api: ApiSettings = ApiSettings()
    notify: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""
    kserve_namespace: str = "kserve"
    # Empty: every namespace (cluster-wide LIST/WATCH); else only these, each on its own.
    watch_namespaces: tuple[str, ...] = ()


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


def env_name(key: str) -> str:
    """``leaderElection.enabled`` -> ``RECLAIMER_LEADER_ELECTION_ENABLED``."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key.replace(".", "_"))
    return "RECLAIMER_" + snake.upper()


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if key in OPAQUE_SECTIONS:
            flat[key] = value
        elif isinstance(value, Mapping) and key not in KEYS:
            flat.update(_flatten(value, prefix=f"{key}."))
        else:
            flat[key] = value
    return flat


def read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigInvalid(key="--config", message=f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigInvalid(key="--config", message=f"{path} is not a UTF-8 text file") from exc
    except yaml.YAMLError as exc:
        raise ConfigInvalid(key="--config", message=f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigInvalid(key="--config", message=f"{path} must hold a mapping of settings")
    flat = _flatten(data)
    for key in flat:
        if key not in KEYS and key not in OPAQUE_SECTIONS:
            raise ConfigInvalid(key=key, message=_unknown(key))
    return flat


def _unknown(key: str) -> str:
    """A section given a scalar names its keys; a typo gets the nearest known key."""
    inside = sorted(k for k in KEYS if k.startswith(f"{key}."))
    if inside:
        names = ", ".join(k.rpartition(".")[2] for k in inside)
        return f"must be a mapping of {names} (e.g. {{{inside[0].rpartition('.')[2]}: ...}})"
    known = [*KEYS, *OPAQUE_SECTIONS, *{k.partition(".")[0] for k in KEYS}]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"unknown setting; did you mean {close[0]}?" if close else "unknown setting"


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    flat: dict[str, Any] = {k: env[env_name(k)] for k in KEYS if env_name(k) in env}
    for section in OPAQUE_SECTIONS:
        prefix = env_name(section) + "_"
        for name, value in env.items():
            if name.startswith(prefix):
                flat.setdefault(section, {})
                flat[section] = {**flat[section], _camel(name[len(prefix):]): value}
    return flat


def _camel(env_suffix: str) -> str:
    head, *rest = env_suffix.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _assign(values: dict[str, Any], attr_path: str, value: Any) -> None:
    section, _, attr = attr_path.rpartition(".")
    target = values.setdefault(section, {}) if section else values
    target[attr] = value


def _merge_opaque(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    return {**base, **layer}


def build(flat: Mapping[str, Any]) -> Settings:
    """Parse every known key and assemble the frozen settings."""
    values: dict[str, Any] = {}
    for key, raw in flat.items():
        if key in OPAQUE_SECTIONS:
            values[key] = dict(raw) if isinstance(raw, Mapping) else _bad_section(key)
            continue
        attr_path, parser = KEYS[key]
        _assign(values, attr_path, parser(key, raw))
    sections = {
        "executor": ExecutorSettings,
        "safety": SafetySettings,
        "leader_election": LeaderElectionSettings,
        "http": HttpSettings,
        "api": ApiSettings,
    }
    for name, cls in sections.items():
        values[name] = cls(**values.get(name, {}))
    return Settings(**values)


def _bad_section(key: str) -> dict[str, Any]:
    raise ConfigInvalid(key=key, message="must be a mapping")


def load_settings(
    path: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults < file < environment < flags; ``flags`` uses dotted keys."""
    environ = os.environ if env is None else env
    layers = [read_file(path) if path else {}, _from_env(environ), dict(flags or {})]
    flat: dict[str, Any] = {"prometheus": dict(Settings().prometheus)}
    for layer in layers:
        for key, value in layer.items():
            if key in OPAQUE_SECTIONS and isinstance(value, Mapping):
                flat[key] = _merge_opaque(flat.get(key, {}), value)
            elif value is not None:
                flat[key] = value
    return build(flat)
