"""The ``notify`` section of the service's config: where StopPlanned notices go (issue 19).

```yaml
notify:
  sinks:
    - {name: team-a, url: "https://hooks.example/abc", format: slack}
    - {name: audit, url: "http://audit.internal/hook", default: true}   # format: generic
  retries: 5          # further attempts after the first, with doubling backoff
  backoff: 2s         # first wait between attempts
  timeout: 5s         # per HTTP request
```

A policy names sinks (``spec.notify.sinks``); one that names none gets every sink with
``default: true``. URLs live only here, in the operator's config, never in a policy: a
namespace's CR must not make reclaimer call an address of its choosing. Errors name the
dotted key (``notify.sinks[0].format``), one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from reclaimer.errors import ConfigInvalid, InvalidInput
from reclaimer.policy.durations import parse_duration

FORMATS = ("generic", "slack", "teams")


@dataclass(frozen=True)
class Sink:
    name: str
    url: str
    format: str = "generic"
    default: bool = False


@dataclass(frozen=True)
class NotifySettings:
    sinks: tuple[Sink, ...] = ()
    retries: int = 5
    backoff: timedelta = timedelta(seconds=2)
    timeout: timedelta = timedelta(seconds=5)

    def for_policy(self, names: Sequence[str]) -> tuple[Sink, ...]:
        """The sinks a policy named (unknown names are skipped; `unknown_sinks` says
        which), or the default sinks when it named none."""
        if not names:
            return tuple(s for s in self.sinks if s.default)
        return tuple(s for s in self.sinks if s.name in names)

    def unknown_sinks(self, names: Sequence[str]) -> list[str]:
        known = {s.name for s in self.sinks}
        return [n for n in names if n not in known]


def parse_notify(raw: object) -> NotifySettings:
    if raw is None:
        return NotifySettings()
    if not isinstance(raw, Mapping):
        raise ConfigInvalid(key="notify", message="must be a mapping of sinks, retries, "
                            "backoff, timeout")
    unknown = sorted(set(raw) - {"sinks", "retries", "backoff", "timeout"})
    if unknown:
        raise ConfigInvalid(key=f"notify.{unknown[0]}", message="unknown setting; known: "
                            "sinks, retries, backoff, timeout")
    sinks = raw.get("sinks", [])
    if not isinstance(sinks, list):
        raise ConfigInvalid(key="notify.sinks", message="must be a list of sinks")
    parsed = tuple(_sink(f"notify.sinks[{i}]", s) for i, s in enumerate(sinks))
    names = [s.name for s in parsed]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ConfigInvalid(key=f"notify.sinks[{index}].name",
                                message=f'"{name}" is already used by another sink')
    return NotifySettings(sinks=parsed, retries=_count("notify.retries", raw.get("retries", 5)),
                          backoff=_duration("notify.backoff", raw.get("backoff", "2s")),
                          timeout=_duration("notify.timeout", raw.get("timeout", "5s")))


def _sink(key: str, raw: object) -> Sink:
    if not isinstance(raw, Mapping):
        raise ConfigInvalid(key=key, message="must be a mapping of name, url, format, default")
    unknown = sorted(set(raw) - {"name", "url", "format", "default"})
    if unknown:
        raise ConfigInvalid(key=f"{key}.{unknown[0]}", message="unknown setting; known: "
                            "name, url, format, default")
    name, url = _text(f"{key}.name", raw.get("name")), _text(f"{key}.url", raw.get("url"))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigInvalid(key=f"{key}.url", message=f"{url!r} is not an http(s) URL")
    fmt = raw.get("format", "generic")
    if fmt not in FORMATS:
        raise ConfigInvalid(key=f"{key}.format",
                            message=f"{fmt!r} is not one of {', '.join(FORMATS)}")
    default = raw.get("default", False)
    if not isinstance(default, bool):
        raise ConfigInvalid(key=f"{key}.default", message=f"{default!r} is not true or false")
    return Sink(name=name, url=url, format=str(fmt), default=default)


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigInvalid(key=key, message=f"{value!r} must be a non-empty string")
    return value.strip()


def _count(key: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # from the environment
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 20:
        raise ConfigInvalid(key=key, message=f"{value!r} is not a whole number from 0 to 20")
    return value


def _duration(key: str, value: Any) -> timedelta:
    try:
        duration = parse_duration(str(value))
    except InvalidInput as exc:
        raise ConfigInvalid(key=key, message=str(exc)) from exc
    if duration < timedelta(seconds=1):
        raise ConfigInvalid(key=key, message=f"{value!r} is shorter than the minimum 1s")
    return duration
