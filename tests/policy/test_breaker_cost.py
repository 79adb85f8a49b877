"""The mass-idle breaker counts idle verdicts per namespace in one pass: counted, not
timed (namespaces grow with the fleet; a pass over every verdict per namespace was
quadratic)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reclaimer.model import DecideSettings, ServiceRef
from reclaimer.policy.safety import tripped_scopes

NOW = datetime(2030, 4, 1, 17, 0, tzinfo=UTC)
NAMESPACES, PER = 50, 6


class _Counted(str):
    """A namespace that counts the equality tests made on it."""

    compared: list[None] = []  # noqa: RUF012 - one shared tally

    def __eq__(self, other: object) -> bool:
        self.compared.append(None)
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_verdicts_are_counted_in_one_pass() -> None:
    """300 idle verdicts in 50 namespaces: at most two namespace tests per verdict
    (15,000 before, each namespace's count a pass over all 300)."""
    verdicts = {ServiceRef(_Counted(f"team-{n:02d}"), f"m{i}")
                for n in range(NAMESPACES) for i in range(PER)}
    running: dict[str, Any] = {f"team-{n:02d}": PER for n in range(NAMESPACES)}
    _Counted.compared.clear()
    scopes = tripped_scopes(verdicts, running=running, recent={}, now=NOW,
                            settings=DecideSettings())
    assert scopes == ["", *sorted(running)]
    assert len(_Counted.compared) <= 2 * NAMESPACES * PER


def test_recent_stops_count_in_their_namespace() -> None:
    """Four idle now and two stopped lately in team-a (of six running): over half, at
    the minimum of five; team-b's four alone are under the minimum."""
    settings = DecideSettings()
    verdicts = {ServiceRef("team-a", f"m{i}") for i in range(4)} | {
        ServiceRef("team-b", f"m{i}") for i in range(4)}
    recent = {ServiceRef("team-a", "s1"): NOW, ServiceRef("team-a", "s2"): NOW}
    scopes = tripped_scopes(verdicts, running={"team-a": 4, "team-b": 40, "team-c": 100},
                            recent=recent, now=NOW, settings=settings)
    assert scopes == ["team-a"]
