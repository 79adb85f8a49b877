"""Service settings: frozen values loaded from YAML, the environment and flags (DESIGN §8)."""

from __future__ import annotations
