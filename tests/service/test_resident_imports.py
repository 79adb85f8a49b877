"""What `reclaimer run` keeps resident: no numpy and no alembic unless used (issue 20).

Every imported module stays in memory for the life of the process. numpy (about 18 MiB
resident) serves only ``idle.after: auto`` (`signals.ranges.gaps`, loaded when the
first auto rule is learned); alembic with Mako and Pygments (about 11 MiB) served only
the start-up check of the schema version, which reads ``alembic_version`` itself now
(`ledger.schema_check.require_head`). Counted in ``sys.modules`` of a fresh
interpreter, never timed or sized (the sizes are benchmarks/RESULTS.md's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade

PROBE = """
import json, sys
import reclaimer.cli.run_cmd  # what `reclaimer run` imports first
from reclaimer.service.app import build, run  # then every part it builds
from reclaimer.ledger import open_ledger
open_ledger({url!r}).close()  # the start-up schema check
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(url: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(url=url)], capture_output=True,
                          text=True, timeout=60, check=True)
    return {m.split(".")[0] for m in json.loads(done.stdout.splitlines()[-1])}


def test_the_service_and_its_ledger_check_load_neither_numpy_nor_alembic(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(url))
    loaded = _loaded(url)
    assert ({"sqlalchemy", "kubernetes"} <= loaded, loaded & {"numpy", "alembic", "mako"}) == (
        True, set())
