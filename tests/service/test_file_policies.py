"""Policy files: an invalid document is logged once per (re)load, naming its field."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reclaimer.service.file_policies import FilePolicies
from tests.e2e.policies import BROKEN, office_hours


def test_an_invalid_document_is_logged_once_with_its_location(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "ok.yaml").write_text(office_hours())
    (tmp_path / "broken.yaml").write_text(BROKEN)
    files = FilePolicies([tmp_path])
    with caplog.at_level(logging.ERROR, logger="reclaimer.policies"):
        files.read()
        files.read()
    fields = [getattr(r, "fields", {}) for r in caplog.records]
    assert [(f["file"].endswith("broken.yaml"), f["field"]) for f in fields] == [
        (True, "spec.idle.after")]


def test_valid_policies_load_beside_an_invalid_one(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(office_hours())
    (tmp_path / "broken.yaml").write_text(BROKEN)
    policies, invalid = FilePolicies([tmp_path]).read()
    assert ([p.name for p in policies], len(invalid)) == (["office-hours"], 1)
