"""The sandbox scenario (docs/design.md §8): which KServe, which services, which extra objects.

::

    kserve: "0.16"                 # "0.16": native stop; "0.15": Knative predictors only;
                                   # "0.14": no native stop; "0.17": + LLMInferenceService
    defaultDeploymentMode: Knative # Knative | Standard | ModelMesh (old names accepted)
    podTerminationSeconds: 1      # a deleted pod stays Terminating this long
    podStartSeconds: 0            # a new pod is Ready after this long
    timeScale: 1                  # multiplies every simulated time; with it and no
                                  # podTerminationSeconds, pods keep their own grace
                                  # (Raw 30 s, Knative revision timeout 300 s)
    namespaces: [team-a]
    inferenceServices:
      - {namespace: team-a, name: llama, mode: Standard, gpus: 1, labels: {tier: dev}}
    gpuCapacity: {default: 4}      # GPUs per node pool (a number: the default pool);
                                   # a pod with no free GPU stays Pending
    objects: []                    # any further manifests, created as given
    faults: []                     # [{verb, resource, namespace, name, status, times,
                                   #   delay}]; times -1 = always

An inference service entry may also carry ``annotations``, ``minReplicas``,
``maxReplicas``, ``transformer: true`` and ``explainer: true``. Errors name the field:
``inferenceServices[2].gpus: must be an integer >= 0, got 'two'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kubesandbox.faults import fault_kwargs
from kubesandbox.kserve.settings import VERSIONS, SimulatorSettings, parse_mode

Obj = dict[str, Any]
TOP_KEYS = frozenset({"kserve", "defaultDeploymentMode", "podTerminationSeconds",
                      "podStartSeconds", "namespaces", "inferenceServices", "objects",
                      "kserveControllerImage", "faults", "keda", "timeScale",
                      "gpuCapacity"})
ISVC_KEYS = frozenset({"namespace", "name", "mode", "gpus", "labels", "annotations",
                       "minReplicas", "maxReplicas", "transformer", "explainer", "load",
                       "startSeconds", "nodePool"})


class ScenarioInvalid(ValueError):
    """A scenario document is wrong; the message starts with the field's path."""


@dataclass(frozen=True)
class IsvcEntry:
    namespace: str
    name: str
    mode: str | None = None
    gpus: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    min_replicas: int | None = None
    max_replicas: int | None = None
    transformer: bool = False
    explainer: bool = False
    load: int | None = None
    start_seconds: float | None = None
    """How long this ISVC's pods take to become Ready (before ``timeScale``)."""
    node_pool: str = "default"
    """Replicas KEDA's triggers call for (class ``keda``); None: minReplicaCount."""


@dataclass(frozen=True)
class Scenario:
    settings: SimulatorSettings = field(default_factory=SimulatorSettings)
    namespaces: tuple[str, ...] = ()
    inference_services: tuple[IsvcEntry, ...] = ()
    objects: tuple[Mapping[str, Any], ...] = ()
    faults: tuple[Mapping[str, Any], ...] = ()
    """``FaultInjector.add`` arguments, installed when the world starts."""
    controller_image: str | None = None
    keda: bool = False
    """Install KEDA's ScaledObject CRD before anything else."""
    """Image of the seeded ``kserve-controller-manager``; None: the version's own tag;
    "": no controller Deployment, so a client cannot read the version."""


def load_scenario(path: str | Path) -> Scenario:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ScenarioInvalid(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_scenario(text, source=str(path))


def parse_scenario(data: Mapping[str, Any] | str | None, *, source: str = "scenario") -> Scenario:
    """A Scenario from a mapping or YAML text; ScenarioInvalid names the bad field."""
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise ScenarioInvalid(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ScenarioInvalid(f"{source}: must be a mapping, got {type(data).__name__}")
    _no_unknown(data, TOP_KEYS, "")
    isvcs = tuple(_isvc(item, f"inferenceServices[{i}]") for i, item
                  in enumerate(_list(data.get("inferenceServices", []), "inferenceServices")))
    load = tuple((e.namespace, f"{e.name}-predictor", e.load) for e in isvcs
                 if e.load is not None)
    starts = tuple((e.namespace, e.name, e.start_seconds) for e in isvcs
                   if e.start_seconds is not None)
    pools = tuple((e.namespace, e.name, e.node_pool) for e in isvcs
                  if e.node_pool != "default")
    return Scenario(
        settings=replace(_settings(data), keda_load=load, start_seconds=starts,
                         node_pools=pools, gpu_capacity=_capacity(data.get("gpuCapacity"))),
        namespaces=tuple(_str_list(data.get("namespaces", []), "namespaces")),
        inference_services=isvcs,
        objects=tuple(_object(item, f"objects[{i}]") for i, item
                      in enumerate(_list(data.get("objects", []), "objects"))),
        faults=tuple(_fault(item, f"faults[{i}]") for i, item
                     in enumerate(_list(data.get("faults", []), "faults"))),
        keda=_bool(data.get("keda", False), "keda"),
        controller_image=_optional_str(data.get("kserveControllerImage"),
                                       "kserveControllerImage"),
    )


def _capacity(value: Any) -> tuple[tuple[str, int], ...]:
    """``gpuCapacity``: a number for the ``default`` pool, or {pool: GPUs}."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        value = {"default": value}
    return tuple((_name(pool, f"gpuCapacity.{pool}"),
                  _int(count, f"gpuCapacity.{pool}") or 0) for pool, count in value.items())


def _fault(item: Any, path: str) -> Mapping[str, Any]:
    try:
        return fault_kwargs(item, path)
    except ValueError as exc:
        raise ScenarioInvalid(str(exc)) from exc


def _optional_str(value: Any, path: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ScenarioInvalid(f"{path}: must be a string, got {value!r}")
    return value


def _settings(data: Mapping[str, Any]) -> SimulatorSettings:
    version = str(data.get("kserve", "0.16"))
    if version not in VERSIONS:
        raise ScenarioInvalid(f"kserve: {version!r} is not one of {', '.join(VERSIONS)}")
    mode = data.get("defaultDeploymentMode", "Knative")
    if not isinstance(mode, str) or parse_mode(mode) is None:
        raise ScenarioInvalid(f"defaultDeploymentMode: {mode!r} is not one of Knative, "
                              "Standard, ModelMesh (or Serverless, RawDeployment)")
    scale = _seconds(data.get("timeScale", 1), "timeScale")
    if scale <= 0:
        raise ScenarioInvalid(f"timeScale: must be a number > 0, got {scale!r}")
    # With a timeScale and no fixed podTerminationSeconds, each pod's own grace counts.
    fixed = data.get("podTerminationSeconds", None if "timeScale" in data else 1)
    return SimulatorSettings(
        kserve=version, default_deployment_mode=mode,
        pod_termination_seconds=(None if fixed is None
                                 else _seconds(fixed, "podTerminationSeconds")),
        pod_start_seconds=_seconds(data.get("podStartSeconds", 0), "podStartSeconds"),
        time_scale=scale)


def _seconds(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ScenarioInvalid(f"{path}: must be a number >= 0, got {value!r}")
    return float(value)


def _isvc(item: Any, path: str) -> IsvcEntry:
    if not isinstance(item, Mapping):
        raise ScenarioInvalid(f"{path}: must be a mapping")
    _no_unknown(item, ISVC_KEYS, f"{path}.")
    mode = item.get("mode")
    if mode is not None and (not isinstance(mode, str) or parse_mode(mode) is None):
        raise ScenarioInvalid(f"{path}.mode: {mode!r} is not one of Knative, Standard, "
                              "ModelMesh (or Serverless, RawDeployment)")
    return IsvcEntry(
        namespace=_name(item.get("namespace"), f"{path}.namespace"),
        name=_name(item.get("name"), f"{path}.name"),
        mode=mode, gpus=_int(item.get("gpus", 0), f"{path}.gpus") or 0,
        labels=_str_map(item.get("labels"), f"{path}.labels"),
        annotations=_str_map(item.get("annotations"), f"{path}.annotations"),
        min_replicas=_int(item.get("minReplicas"), f"{path}.minReplicas"),
        max_replicas=_int(item.get("maxReplicas"), f"{path}.maxReplicas"),
        transformer=_bool(item.get("transformer", False), f"{path}.transformer"),
        explainer=_bool(item.get("explainer", False), f"{path}.explainer"),
        load=_int(item.get("load"), f"{path}.load"),
        start_seconds=(None if item.get("startSeconds") is None
                       else _seconds(item["startSeconds"], f"{path}.startSeconds")),
        node_pool=_name(item.get("nodePool", "default"), f"{path}.nodePool"),
    )


def _object(item: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ScenarioInvalid(f"{path}: must be a manifest mapping")
    for key in ("apiVersion", "kind"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise ScenarioInvalid(f"{path}.{key}: required")
    meta = item.get("metadata")
    if not isinstance(meta, Mapping) or not (meta.get("name") or meta.get("generateName")):
        raise ScenarioInvalid(f"{path}.metadata.name: required")
    return item


def _no_unknown(data: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise ScenarioInvalid(f"{prefix}{key}: unknown field (allowed: "
                                  f"{', '.join(sorted(allowed))})")


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScenarioInvalid(f"{path}: must be a list, got {type(value).__name__}")
    return value


def _str_list(value: Any, path: str) -> list[str]:
    return [_name(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path))]


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ScenarioInvalid(f"{path}: required, a non-empty string")
    if len(value) > 63 or not all(c.isalnum() or c == "-" for c in value) \
            or value != value.lower() or value[0] == "-" or value[-1] == "-":
        raise ScenarioInvalid(f"{path}: {value!r} is not a DNS label "
                              "(lower-case letters, digits, '-', at most 63)")
    return value


def _int(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScenarioInvalid(f"{path}: must be an integer >= 0, got {value!r}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioInvalid(f"{path}: must be true or false, got {value!r}")
    return value


def _str_map(value: Any, path: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
            isinstance(key, str) and isinstance(v, str) for key, v in value.items()):
        raise ScenarioInvalid(f"{path}: must map strings to strings (quote values like "
                              "\"true\")")
    return dict(value)
