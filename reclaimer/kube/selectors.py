"""Label selectors naming the services a tick verifies, so a LIST returns only theirs.

Verification counts the pods of the services it awaits and reads the component
Deployments of managed Raw transitions. Listed by KServe's label alone, that is every
pod (or Deployment) of every service, decoded each tick: at 10,000 ISVCs 10,000 pods
to count a few dozen. ``<owner label> in (name, ...)`` makes the API server filter
instead: one LIST per `CHUNK` names. Past `MAX_CHUNKS` chunks (a catch-up tick with
thousands of transitions), or when a name cannot be a label value (longer than 63
characters, say), the plain selector is used: one LIST of everything, as before.
"""

from __future__ import annotations

import re
from collections.abc import Collection

CHUNK = 100  # names per selector: about 6 KB of query at most
MAX_CHUNKS = 5
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def by_names(base: str, owner: str, names: Collection[str]) -> list[str]:
    """Selectors that together match the objects whose ``owner`` label is one of
    ``names`` (and ``base``, when it says more than that the label exists); ``[base]``
    when they would not fit in `MAX_CHUNKS` or a name is no label value. Empty for no
    names: nothing to list."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    if len(wanted) > CHUNK * MAX_CHUNKS or not all(
            len(n) <= 63 and _LABEL_VALUE.fullmatch(n) for n in wanted):
        return [base]
    prefix = "" if base == owner else f"{base},"
    return [f"{prefix}{owner} in ({','.join(wanted[i:i + CHUNK])})"
            for i in range(0, len(wanted), CHUNK)]
