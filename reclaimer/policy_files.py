"""Read policy files and directories into valid policies plus one error per bad document.

Reading files is I/O, which `reclaimer.policy` must not do (an import contract keeps
``pathlib`` out of it), so it lives here, over the pure parsing in `policy.schema`. The
CLI and the service both need exactly this: a directory is its ``*.yaml`` and ``*.yml``
files in name order (not recursive), and an unreadable file or a bad document is
reported without hiding the good ones. A policy key defined twice across the files is
an error at the later document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
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


@dataclass(frozen=True)
class DocumentResult:
    """One document's outcome: a policy, or the error that names its field."""

    source: str
    document: int
    _: KW_ONLY
    policy: Policy | None = None
    error: PolicyInvalid | None = None


def load_paths(paths: Sequence[Path]) -> tuple[list[Policy], list[PolicyInvalid]]:
    """Valid policies of all files and every problem found; never raises for bad input."""
    results = check_paths(paths)
    return ([r.policy for r in results if r.policy is not None],
            [r.error for r in results if r.error is not None])


def check_paths(paths: Sequence[Path]) -> list[DocumentResult]:
    """Every document's outcome in file and document order (for `reclaimer validate`)."""
    results: list[DocumentResult] = []
    seen: set[Path] = set()
    for path in paths:
        files = policy_files([path])
        if not files:
            results.append(_file_error(path, f"no {' or '.join(SUFFIXES)} files here"))
        for file in files:
            if file.resolve() not in seen:  # a file named twice is read once
                seen.add(file.resolve())
                results.extend(_check_file(file))
    return _mark_duplicates(results)


def _check_file(file: Path) -> list[DocumentResult]:
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [_file_error(file, f"cannot read the file: {_reason(exc)}")]
    policies, errors = parse_numbered(text, source=source)
    results = [DocumentResult(source, index, policy=policy) for index, policy in policies]
    results += [DocumentResult(source, error.document, error=error) for error in errors]
    return sorted(results, key=lambda result: result.document)


def _mark_duplicates(results: list[DocumentResult]) -> list[DocumentResult]:
    located = [(r.source, r.document, r.policy) for r in results if r.policy is not None]
    _, duplicates = reject_duplicates(located)
    marked = {(error.source, error.document): error for error in duplicates}
    return [DocumentResult(r.source, r.document, error=marked[(r.source, r.document)])
            if (r.source, r.document) in marked else r for r in results]


def _file_error(path: Path, message: str) -> DocumentResult:
    error = PolicyInvalid(source=str(path), document=0, field=WHOLE_DOCUMENT, message=message)
    return DocumentResult(str(path), 0, error=error)


def _reason(exc: Exception) -> str:
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
