"""Every `config.*` value the chart accepts is a key the service knows.

The service refuses unknown keys in its config file (a typo must not fall back to a
default), so a chart value without a service key would crash-loop the pod.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml

from reclaimer.config import KEYS, OPAQUE_SECTIONS
from tests.chart.helm import CHART

SCHEMA = CHART / "values.schema.json"


def _keys(node: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for name, sub in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        if key in OPAQUE_SECTIONS or "properties" not in sub:
            yield key
        else:
            yield from _keys(sub, f"{key}.")


def test_every_config_value_is_a_service_key() -> None:
    config = json.loads(SCHEMA.read_text())["properties"]["config"]
    assert set(_keys(config)) - set(KEYS) - set(OPAQUE_SECTIONS) == set()


def test_default_values_pass_the_values_schema() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(values, json.loads(SCHEMA.read_text()))
