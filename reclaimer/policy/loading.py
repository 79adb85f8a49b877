"""Read policy files and directories into valid policies plus one error per bad document.

Reading files is I/O, which `policy/` otherwise avoids; it is kept here, apart from the
pure parsing in `schema`, because the CLI and the service both need exactly this: a
directory is its ``*.yaml`` and ``*.yml`` files in name order (not recursive), and an
unreadable file or a bad document is reported without hiding the good ones. A policy key
defined twice across the files is an error at the later document.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reclaimer.errors import PolicyInvalid
from reclaimer.model import Policy
from reclaimer.policy.schema import WHOLE_DOCUMENT, parse_numbered, reject_duplicates

SUFFIXES = (".yaml", ".yml")


def policy_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given, directories expanded to their YAML files sorted by name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir()
                                if p.suffix in SUFFIXES and p.is_file()))
        else:
            files.append(path)
    return files


def load_paths(paths: Sequence[Path]) -> tuple[list[Policy], list[PolicyInvalid]]:
    """Valid policies of all files and every problem found; never raises for bad input."""
    located: list[tuple[str, int, Policy]] = []
    errors: list[PolicyInvalid] = []
    for file in policy_files(paths):
        source = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(PolicyInvalid(source=source, document=0, field=WHOLE_DOCUMENT,
                                        message=f"cannot read the file: {_reason(exc)}"))
            continue
        policies, problems = parse_numbered(text, source=source)
        located.extend((source, index, policy) for index, policy in policies)
        errors.extend(problems)
    unique, duplicates = reject_duplicates(located)
    return unique, errors + duplicates


def _reason(exc: Exception) -> str:
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
