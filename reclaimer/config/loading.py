"""Reading the layers (file, environment, flags) into one `Settings`.

Precedence is defaults < file < environment < flags. Every key ``a.bC`` can be set as
``RECLAIMER_A_B_C`` (camelCase split at capitals). Unknown keys in the file are rejected,
so a typo never silently falls back to a default; every error names the dotted key.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from reclaimer.config.keys import KEYS, OPAQUE_SECTIONS
from reclaimer.config.settings import (
    ApiSettings,
    ExecutorSettings,
    HttpSettings,
    LeaderElectionSettings,
    SafetySettings,
    Settings,
)
from reclaimer.errors import ConfigInvalid


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
