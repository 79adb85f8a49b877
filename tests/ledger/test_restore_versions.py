"""Restore info from a newer release is refused rather than misread."""

from __future__ import annotations

import pytest

from reclaimer.errors import LedgerError
from reclaimer.ledger.protocol import readable_restore
from tests.ledger.builders import LLAMA


@pytest.mark.parametrize(("document", "readable"), [
    pytest.param({"version": 1, "replicas": 2}, True, id="current"),
    pytest.param({"version": 2, "replicas": 2}, False, id="newer"),
    pytest.param({"replicas": 2}, False, id="unversioned"),
    pytest.param({"version": "1"}, False, id="version-not-a-number"),
])
def test_only_known_versions_are_read(document: dict[str, object], readable: bool) -> None:
    if readable:
        assert readable_restore(LLAMA, document) == document
    else:
        with pytest.raises(LedgerError, match="restore info for team-a/llama has version"):
            readable_restore(LLAMA, document)
