"""A YAML stream of policies, read one document at a time (`split_documents`, `load`).

A syntax error in one document must not hide the valid policies around it, but PyYAML's
``safe_load_all`` stops at the first error. So the stream is split at ``---`` lines first
(a ``---`` at column 0 always starts a document in YAML) and each part is loaded on its
own, with line numbers kept relative to the whole file. Duplicate keys, which PyYAML
silently resolves to the last one, are an error: a policy must mean what it says.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import KW_ONLY, dataclass
from typing import Any

import yaml

_MARKER = re.compile(r"---(?=\s|$)")
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class RawDocument:
    """One document of a stream; ``index`` counts from 1, ``first_line`` from 0."""

    index: int
    text: str
    _: KW_ONLY
    first_line: int


class YamlProblem(ValueError):
    """A document is not valid YAML; the message names the file line."""


def split_documents(text: str) -> list[RawDocument]:
    """The documents of ``text``; content before the first ``---`` counts only if present."""
    chunks: list[tuple[int, list[str]]] = [(0, [])]
    for number, line in enumerate(text.splitlines()):
        if _MARKER.match(line):
            chunks.append((number, [" " * 3 + line[3:]]))
        else:
            chunks[-1][1].append(line)
    if len(chunks) > 1 and not _has_content(chunks[0][1]):
        chunks.pop(0)
    return [RawDocument(i, "\n".join(lines) + "\n", first_line=first)
            for i, (first, lines) in enumerate(chunks, start=1)]


def load(document: RawDocument) -> Any:
    """The document's data (None for an empty one); raises YamlProblem."""
    try:
        return yaml.load(document.text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1 + document.first_line}" if mark else ""
        raise YamlProblem(f"not valid YAML{where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}") from exc


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() and not line.lstrip().startswith(("#", "%")) for line in lines)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f'duplicate key "{key.value}"', key.start_mark)
                seen.add(key.value)
        return super().construct_mapping(node, deep)
