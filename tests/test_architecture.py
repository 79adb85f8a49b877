"""House rules that a linter cannot see: only the clock adapter reads the wall clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reclaimer"
# The product and the demo verbs; not dev/kubesandbox, a stand-in for a real cluster with
# its own clock.
PACKAGES = (PACKAGE, ROOT / "dev" / "reclaimer_dev")
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
               ("date", "today"), ("time", "time"), ("time", "time_ns")}
# The clock adapter.
ALLOWED = {PACKAGE / "clock.py"}


def _clock_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (name, node.func.attr) in CLOCK_READS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _modules() -> list[Path]:
    return [p for package in PACKAGES for p in sorted(package.rglob("*.py")) if p not in ALLOWED]


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_never_reads_the_wall_clock(module: Path) -> None:
    assert _clock_reads(module) == []
