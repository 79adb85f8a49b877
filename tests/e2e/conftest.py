"""e2e fixtures: one migrated ledger per session, copied into every scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.stage import migrated_template


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("ledger-template"))
