"""House rules that a linter cannot see: only the clock adapter reads the wall clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reclaimer"
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
               ("date", "today"), ("time", "time"), ("time", "time_ns")}
# The clock adapter, and the sandbox which is a stand-in for a real cluster with its own clock.
ALLOWED = {PACKAGE / "clock.py"}
ALLOWED_DIRS = {PACKAGE / "sandbox"}


def _clock_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (name, node.func.attr) in CLOCK_READS:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if p not in ALLOWED and not any(d in p.parents for d in ALLOWED_DIRS)]


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_never_reads_the_wall_clock(module: Path) -> None:
    assert _clock_reads(module) == []
