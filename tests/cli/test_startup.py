"""`reclaimer --help` and `reclaimer validate` import only what they need (issue 16, item
8): every verb's module is loaded on demand, so start-up does not pay for matplotlib,
the sandbox, the Kubernetes client or SQLAlchemy. Counted in ``sys.modules`` of a fresh
interpreter, never timed (the timing is `benchmarks/cli_startup.py`)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reclaimer.cli import build_parser, commands

POLICIES = str(Path(__file__).resolve().parents[2] / "policies")
# reclaimer_dev itself is a table of two verbs, read for --help; its verbs are heavy.
HEAVY = ("matplotlib", "kubesandbox", "reclaimer_dev.demo", "reclaimer_dev.sandbox_cmd",
         "kubernetes", "sqlalchemy", "alembic", "prometheus_api_client", "apscheduler",
         "urllib3")
PROBE = """
import json, sys
{before}
try:
    {call}
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(before: str, call: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(before=before, call=call)],
                          capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY
                  or any(m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(("before", "call"), [
    pytest.param("import reclaimer.cli", "pass", id="import-reclaimer.cli"),
    pytest.param("from reclaimer.cli import main", "main(['--help'])", id="help"),
    pytest.param("from reclaimer.cli import main", f"main(['validate', {POLICIES!r}])",
                 id="validate"),
    pytest.param("from reclaimer.cli import main", "main(['schedule', '--help'])",
                 id="schedule-help"),
])
def test_start_up_imports_nothing_heavy(before: str, call: str) -> None:
    assert _heavy(_loaded(before, call)) == []


def test_the_import_guard_sees_a_heavy_verb() -> None:
    """The probe itself works: `history` does load SQLAlchemy."""
    loaded = _loaded("from reclaimer.cli import main", "main(['history', '--help'])")
    assert "sqlalchemy" in loaded


def test_every_verb_has_its_one_line_summary_from_its_module() -> None:
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in verbs._choices_actions}
    assert helps == {verb: summary for verb, (_, summary) in commands.all_verbs().items()}


def test_the_development_verbs_come_from_their_entry_point() -> None:
    """`demo` and `sandbox` are the dev distribution's (dev/), not the product's."""
    added = commands.all_verbs().keys() - commands.VERBS.keys()
    assert sorted(added) == ["demo", "sandbox"]
