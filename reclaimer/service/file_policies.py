"""Policy files, re-read only when they change.

The service looks at its policy files every tick, so an operator's edit (or a
ConfigMap update) takes effect at the next tick without a restart. Parsing YAML every
30 s for nothing is waste, so the result is kept until a file's size or modification
time changes, or a file appears or disappears. Each (re)load logs every invalid document
once, naming file, document and field, so an operator sees a typo without polling
/metrics (``reclaimer_policies_invalid``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from reclaimer.errors import PolicyInvalid
from reclaimer.model import Policy
from reclaimer.policy_files import load_paths, policy_files

Signature = tuple[tuple[str, int, int], ...]
log = logging.getLogger("reclaimer.policies")


def _signature(paths: Sequence[Path]) -> Signature:
    entries = []
    for file in policy_files(paths):
        try:
            stat = file.stat()
        except OSError:
            entries.append((str(file), -1, -1))
            continue
        entries.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class FilePolicies:
    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self.loads = 0
        self._signature: Signature | None = None
        self._result: tuple[list[Policy], list[PolicyInvalid]] = ([], [])

    def read(self) -> tuple[list[Policy], list[PolicyInvalid]]:
        signature = _signature(self.paths)
        if signature != self._signature:
            self._result = load_paths(list(self.paths))
            self._signature = signature
            self.loads += 1
            _log_invalid(self._result[1])
        policies, invalid = self._result
        return list(policies), list(invalid)


def _log_invalid(invalid: Sequence[PolicyInvalid]) -> None:
    for error in invalid:
        log.error("invalid policy: %s", error, extra={"fields": {
            "file": error.source, "document": error.document, "field": error.field,
            "error": error.message}})
