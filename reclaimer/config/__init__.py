"""Service settings: frozen values from a YAML file, the environment and flags (docs/design.md §8).

`settings` holds the values and defaults, `keys` every dotted key with its parser,
`loading` the layers (defaults < file < environment < flags).
"""

from __future__ import annotations

from reclaimer.config.keys import KEYS, OPAQUE_SECTIONS, parse_duration_value
from reclaimer.config.loading import build, env_name, load_settings, read_file
from reclaimer.config.settings import (
    ApiSettings,
    ExecutorSettings,
    HttpSettings,
    LeaderElectionSettings,
    SafetySettings,
    Settings,
)

__all__ = [
    "KEYS",
    "OPAQUE_SECTIONS",
    "ApiSettings",
    "ExecutorSettings",
    "HttpSettings",
    "LeaderElectionSettings",
    "SafetySettings",
    "Settings",
    "build",
    "env_name",
    "load_settings",
    "parse_duration_value",
    "read_file",
]
