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


# --- KServe knowledge lives in reclaimer/kserve.py (issue 17 item 2) ----------------
KSERVE_HOME = PACKAGE / "kserve.py"
KSERVE_READERS = frozenset({"mode_of", "parse_mode", "own_stopped", "stop_requested_in",
                            "kserve_writes_stopped", "status_mode_name"})


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the constant nodes that are docstrings (prose may name KServe's keys)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            found |= {id(stmt.value) for stmt in body if isinstance(stmt, ast.Expr)
                      and isinstance(stmt.value, ast.Constant)}
    return found


def _kserve_spellings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    prose = _docstrings(tree)
    where = path.name
    found = [f"{where}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and "serving.kserve.io" in node.value and id(node) not in prose]
    found += [f"{where}:{node.lineno}: def {node.name}" for node in ast.walk(tree)
              if isinstance(node, ast.FunctionDef) and node.name in KSERVE_READERS]
    return found


@pytest.mark.parametrize("module", [m for m in _modules() if m != KSERVE_HOME],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_kserve_py_spells_kserve_keys_or_reads_its_objects(module: Path) -> None:
    """Annotation keys, the API group and the readers whose answers must agree (stop
    requested, mode, our own stop) are defined once; everyone else imports them."""
    assert _kserve_spellings(module) == []


def test_the_guard_sees_a_spelled_key(tmp_path: Path) -> None:
    """The guard above is not vacuous: it finds a key and a reader in a module."""
    module = tmp_path / "copy.py"
    module.write_text('"""serving.kserve.io/stop in prose is fine."""\n'
                      'KEY = "serving.kserve.io/stop"\n\n\ndef mode_of(obj):\n    return obj\n')
    found = _kserve_spellings(module)
    assert len(found) == 2

