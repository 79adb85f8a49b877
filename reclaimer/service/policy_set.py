"""The policies one tick decides with: files and CRs merged, faults taken out.

- **Never a shared key** (DESIGN §3.7, issue 13 case 7). ``decide()`` keys edges, windows
  and ledger rows by `Policy.key`, so two policies with one key would be merged: one
  service would get the other's schedule. A CR's key is ``ns/name``; a file policy's is
  its ``name``, or ``ns/name`` when the document sets ``metadata.namespace``, which is
  the one way the two sources can collide. Such a duplicate is a conflict applied to
  nobody: both are left out, each reported as invalid (the CR gets ``Valid=False``),
  until one is renamed. Which one was meant cannot be known, and guessing could give an
  8-GPU service a tenant's schedule.
- **Faults** (`reclaimer.policy.safety.Faults`): a policy whose decision raised is reported the
  same way, and left out of the status figures of this tick.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from reclaimer.errors import PolicyInvalid
from reclaimer.kube.policies import ReadPolicies
from reclaimer.model import Policy, PolicyFault

log = logging.getLogger("reclaimer.policies")
DUPLICATE_FIELD = "metadata.name"
DECIDE_FIELD = "(decide)"


def merge(files: Sequence[Policy], cluster: ReadPolicies | None
          ) -> tuple[list[Policy], list[PolicyInvalid], ReadPolicies | None]:
    """File policies plus valid CRs; a key defined in both is nobody's (see above)."""
    crs = list(cluster.valid) if cluster is not None else []
    shared = {p.key for p in files} & {p.key for p in crs}
    if not shared:
        return [*files, *crs], [], cluster
    errors = [_duplicate(p, other) for p in [*files, *crs] if p.key in shared
              for other in [*files, *crs] if other.key == p.key and other is not p]
    for error in errors:
        log.error("policy conflict: %s", error)
    assert cluster is not None  # shared keys need a CR
    cluster = replace(cluster, valid=tuple(p for p in crs if p.key not in shared),
                      invalid=(*cluster.invalid, *(e for e in errors
                                                   if e.source in _sources(crs))))
    return [p for p in [*files, *crs] if p.key not in shared], errors, cluster


def _sources(policies: Sequence[Policy]) -> set[str]:
    return {p.source for p in policies}


def _duplicate(policy: Policy, other: Policy) -> PolicyInvalid:
    return PolicyInvalid(
        source=policy.source, document=0, field=DUPLICATE_FIELD,
        message=f'the key "{policy.key}" is also defined by {other.source}; a policy file '
                "and a ReclaimPolicy resource never share a key, so neither is applied "
                "until one is renamed")


def fault_errors(faults: Sequence[PolicyFault]) -> list[PolicyInvalid]:
    errors = [PolicyInvalid(source=f.source, document=0, field=DECIDE_FIELD, message=f.message)
              for f in faults]
    for error in errors:
        log.error("policy left out of this tick: %s", error)
    return errors


def without_faulty(policies: Sequence[Policy], cluster: ReadPolicies | None,
                   errors: Sequence[PolicyInvalid]
                   ) -> tuple[list[Policy], ReadPolicies | None]:
    """The policies minus those with a fault error; the CRs among them get it as status."""
    sources = {e.source for e in errors}
    kept = [p for p in policies if p.source not in sources]
    if cluster is None or not sources:
        return kept, cluster
    crs = _sources(cluster.valid)
    return kept, replace(cluster, valid=tuple(p for p in cluster.valid if p.source not in sources),
                         invalid=(*cluster.invalid, *(e for e in errors if e.source in crs)))
