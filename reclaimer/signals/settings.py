"""The ``prometheus:`` section of the service config (docs/design.md §8), parsed and frozen.

::

    prometheus:
      url: http://prometheus:9090
      timeout: 10s                  # the whole evaluation, every query together
      queryTimeout: 10s             # sent to Prometheus as ?timeout= (default: timeout)
      signals: {requests: knative, gpu: dcgm}     # preset names, or {query: SELECTOR}
                                    # mode: raw | recorded (read the recording rules)
      templates: {requests: "..."}  # replace any generated query (tokens: {{window}} ...)
      podLabels: kube_pod_labels{label_serving_kserve_io_inferenceservice!=""}
      isvcLabel: label_serving_kserve_io_inferenceservice
      resolution: 1m                # step of the coverage and last-request subqueries
      lastRequestHorizon: 1h        # how far back "seconds since last request" looks
      maxSampleAge: 2m              # newer than this or the data is stale
      concurrency: 4                # queries in flight at once (1: one after another)
      headers: {}                   # e.g. {X-Scope-OrgID: team-a} for a Mimir tenant
      bearerTokenFile: null         # e.g. /var/run/secrets/kubernetes.io/serviceaccount/token
      tls: {caFile: null, insecureSkipVerify: false, certFile: null, keyFile: null}

(`client_settings` parses ``headers`` and ``tls``.)

The service config loader passes the section through whole; `from_mapping` rejects
unknown keys and names the offending one (``prometheus.signals.requests``), so a typo
never falls back to a default silently. Flat environment spellings such as
``RECLAIMER_PROMETHEUS_SIGNALS_REQUESTS`` arrive as ``signalsRequests`` and are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from reclaimer.errors import ConfigInvalid
from reclaimer.model import EMPTY
from reclaimer.signals.client_settings import (
    CLIENT_KEYS,
    TlsSettings,
    parse_headers,
    parse_tls,
)
from reclaimer.signals.presets import (
    GPU_PRESETS,
    REQUEST_PRESETS,
    GpuPreset,
    RequestPreset,
    custom_gpu,
    custom_requests,
)
from reclaimer.signals.queries import TEMPLATE_KEYS, TOKENS

_DURATION = re.compile(
    r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$")
_TOKEN = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_SCALARS = {"url", "timeout", "queryTimeout", "podLabels", "isvcLabel", "resolution",
            "lastRequestHorizon", "maxSampleAge", "signalsRequests", "signalsGpu",
            "concurrency", "bearerTokenFile", "caFile", "signalsMode"}
MODES = ("raw", "recorded")
_SECTIONS = {"signals", "templates", *CLIENT_KEYS}


@dataclass(frozen=True)
class PrometheusSettings:
    url: str = "http://prometheus:9090"
    timeout: timedelta = timedelta(seconds=10)
    query_timeout: timedelta | None = None
    requests: RequestPreset = REQUEST_PRESETS["knative"]
    gpu: GpuPreset = GPU_PRESETS["dcgm"]
    mode: str = "raw"  # or "recorded": read `rules`' series, raw when they are absent
    templates: Mapping[str, str] = field(default=EMPTY)
    pod_labels: str = 'kube_pod_labels{label_serving_kserve_io_inferenceservice!=""}'
    isvc_label: str = "label_serving_kserve_io_inferenceservice"
    resolution: timedelta = timedelta(minutes=1)
    last_request_horizon: timedelta = timedelta(hours=1)
    max_sample_age: timedelta = timedelta(minutes=2)
    concurrency: int = 4
    bearer_token_file: str | None = None
    headers: Mapping[str, str] = field(default=EMPTY)
    tls: TlsSettings = field(default_factory=TlsSettings)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *,
                     prefix: str = "prometheus") -> PrometheusSettings:
        """Parse the section; every error names ``prefix.key``."""
        if not isinstance(data, Mapping):
            raise ConfigInvalid(key=prefix, message="must be a mapping")
        for key in data:
            if key not in _SCALARS | _SECTIONS:
                raise ConfigInvalid(key=f"{prefix}.{key}", message="unknown setting")
        return cls(**_scalars(data, prefix), **_signals(data, prefix),
                   templates=_templates(data.get("templates"), f"{prefix}.templates"),
                   headers=parse_headers(data.get("headers"), f"{prefix}.headers"),
                   tls=parse_tls(data, prefix))


def _scalars(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    if "url" in data:
        parsed["url"] = _url(f"{prefix}.url", data["url"])
    durations = {"timeout": "timeout", "queryTimeout": "query_timeout",
                 "resolution": "resolution", "lastRequestHorizon": "last_request_horizon",
                 "maxSampleAge": "max_sample_age"}
    for key, attr in durations.items():
        if data.get(key) is not None:
            parsed[attr] = parse_duration(f"{prefix}.{key}", data[key])
    texts = {"podLabels": "pod_labels", "isvcLabel": "isvc_label",
             "bearerTokenFile": "bearer_token_file"}
    for key, attr in texts.items():
        if key in data:
            parsed[attr] = _text(f"{prefix}.{key}", data[key])
    if "concurrency" in data:
        parsed["concurrency"] = _small_int(f"{prefix}.concurrency", data["concurrency"])
    return parsed


def _small_int(key: str, value: object) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 16:
        raise ConfigInvalid(key=key, message=f"{value!r} must be a whole number from 1 to 16")
    return int(text)


def _signals(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    section = data.get("signals") or {}
    if not isinstance(section, Mapping):
        raise ConfigInvalid(key=f"{prefix}.signals", message="must be a mapping")
    for key in section:
        if key not in {"requests", "gpu", "mode"}:
            raise ConfigInvalid(key=f"{prefix}.signals.{key}",
                                message="unknown signal (requests, gpu or mode)")
    parsed: dict[str, Any] = {}
    mode = section.get("mode", data.get("signalsMode"))
    if mode is not None:
        parsed["mode"] = _mode(f"{prefix}.signals.mode", mode, section, data)
    requests = section.get("requests", data.get("signalsRequests"))
    if requests is not None:
        parsed["requests"] = _choose(f"{prefix}.signals.requests", requests,
                                     REQUEST_PRESETS, custom_requests)
    gpu = section.get("gpu", data.get("signalsGpu"))
    if gpu is not None:
        parsed["gpu"] = _choose(f"{prefix}.signals.gpu", gpu, GPU_PRESETS, custom_gpu)
    return parsed


def _mode(key: str, value: object, section: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """``recorded`` reads the shipped rules, which exist for the built-in presets only."""
    if value not in MODES:
        raise ConfigInvalid(key=key, message=f"{value!r} must be one of {', '.join(MODES)}")
    custom = [name for name in ("requests", "gpu")
              if isinstance(section.get(name), Mapping)]
    if value == "recorded" and custom:
        raise ConfigInvalid(key=key, message=f"recorded needs a built-in preset for "
                                             f"signals.{custom[0]} (the rules record presets)")
    if value == "recorded" and data.get("resolution") is not None and \
            parse_duration("resolution", data["resolution"]) != timedelta(minutes=1):
        raise ConfigInvalid(key=key, message="recorded needs resolution 1m (the rules' interval)")
    defaults = PrometheusSettings()
    changed = [k for k, v in (("podLabels", defaults.pod_labels),
                              ("isvcLabel", defaults.isvc_label))
               if data.get(k) is not None and str(data[k]).strip() != v]
    if value == "recorded" and changed:
        raise ConfigInvalid(key=key, message=f"recorded needs the default {changed[0]} "
                                             "(the rules' pod map uses it)")
    return str(value)


def _choose(key: str, value: object, presets: Mapping[str, Any], custom: Any) -> Any:
    if isinstance(value, str):
        if value not in presets:
            names = ", ".join(sorted(presets))
            raise ConfigInvalid(key=key, message=f"unknown preset {value!r} (one of {names})")
        return presets[value]
    if isinstance(value, Mapping) and set(value) == {"query"}:
        return custom(_text(f"{key}.query", value["query"]))
    raise ConfigInvalid(key=key, message="must be a preset name or {query: SELECTOR}")


def _templates(value: object, key: str) -> Mapping[str, str]:
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping):
        raise ConfigInvalid(key=key, message="must be a mapping of query name to PromQL")
    templates: dict[str, str] = {}
    for name, text in value.items():
        if name not in TEMPLATE_KEYS:
            known = ", ".join(TEMPLATE_KEYS)
            raise ConfigInvalid(key=f"{key}.{name}", message=f"unknown template (one of {known})")
        templates[name] = _text(f"{key}.{name}", text)
        unknown = sorted(set(_TOKEN.findall(text)) - set(TOKENS))
        if unknown:
            raise ConfigInvalid(key=f"{key}.{name}",
                                message=f"unknown token {{{{{unknown[0]}}}}}; "
                                        f"known: {', '.join(TOKENS)}")
    return templates


def parse_duration(key: str, value: object) -> timedelta:
    """``1h30m``, ``10s``, ``250ms``; a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=value)
    text = str(value).strip()
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groupdict().values()):
        raise ConfigInvalid(key=key, message=f"{value!r} is not a duration (e.g. 10s, 1m, 250ms)")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    span = timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"],
                     milliseconds=parts["ms"])
    if span <= timedelta(0):
        raise ConfigInvalid(key=key, message=f"{value!r} must be longer than zero")
    return span


def _url(key: str, value: object) -> str:
    url = _text(key, value)
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigInvalid(key=key, message=f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


def _text(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigInvalid(key=key, message=f"{value!r} must be a non-empty string")
    return value.strip()
