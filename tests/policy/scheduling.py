"""Builders for schedule tests: a policy from literal windows, and UTC literals."""

from __future__ import annotations

from datetime import UTC, datetime

from reclaimer.model import Policy, Window


def policy(zone: str | None, *windows: tuple[str, str], except_dates: tuple[str, ...] = (),
           namespace: str | None = None) -> Policy:
    return Policy(name="p", namespace=namespace, source="test.yaml", time_zone=zone,
                  schedule=tuple(Window(start, stop) for start, stop in windows),
                  except_dates=frozenset(except_dates))


def utc(text: str) -> datetime:
    """``2026-03-29T01:00`` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
