"""Before a managed Raw stop: who else owns the component Deployments' replicas.

A KEDA ScaledObject on a component Deployment survives the change of class to
``external`` and would scale the stopped Deployment back up, so the stop pauses it with
KEDA's own annotation and the start restores it (`reclaimer.keda`). Any other owner of
the replicas (an HPA that neither KServe nor KEDA made, an Argo Rollout, a Deployment
controlled by something other than the InferenceService) is a refusal with the reason:
reclaimer does not fight another controller (docs/design.md §5, issue 14 case 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reclaimer import keda
from reclaimer.executor import isvc_state as st
from reclaimer.kube.ports import Obj, Scalers

ADVICE = "reclaimer does not fight another controller: remove it, or exclude this service"


@dataclass(frozen=True)
class Owners:
    """The ScaledObjects to pause, or why the stop must not happen at all."""

    scaled_objects: tuple[Obj, ...] = ()
    refusal: str | None = None


def owners(obj: Obj, deployments: Sequence[Obj], scalers: Scalers) -> Owners:
    names = {keda.name_of(d) for d in deployments}
    paused = tuple(so for so in scalers.scaled_objects if keda.scaled_deployment(so) in names)
    refusal = (_foreign_deployment(obj, deployments)
               or _foreign_hpa(obj, scalers.hpas, names, paused)
               or _rollout(obj, scalers.rollouts, names))
    return Owners(scaled_objects=paused if refusal is None else (), refusal=refusal)


def _foreign_deployment(obj: Obj, deployments: Sequence[Obj]) -> str | None:
    for deployment in deployments:
        owner = keda.controller_of(deployment)
        if owner is not None and not keda.made_by(deployment, kind=keda.ISVC_KIND,
                                                  uid=st.uid_of(obj)):
            return (f"Deployment {_where(obj, deployment)} is controlled by "
                    f"{owner.get('kind')} {owner.get('name')}, not by the "
                    f"InferenceService; {ADVICE}")
    return None


def _foreign_hpa(obj: Obj, hpas: Sequence[Obj], names: set[str],
                 paused: Sequence[Obj]) -> str | None:
    """KServe's own HPA goes with the class change; KEDA's goes quiet with the pause."""
    keda_names = {keda.name_of(so) for so in paused}
    for hpa in hpas:
        target = keda.hpa_deployment(hpa)
        if target not in names or keda.made_by(hpa, kind=keda.ISVC_KIND, uid=st.uid_of(obj)):
            continue
        owner = keda.controller_of(hpa) or {}
        if owner.get("kind") == keda.SCALED_OBJECT_KIND and owner.get("name") in keda_names:
            continue
        return (f"HorizontalPodAutoscaler {_where(obj, hpa)} scales Deployment {target} "
                f"and was not made by KServe or KEDA; {ADVICE}")
    return None


def _rollout(obj: Obj, rollouts: Sequence[Obj], names: set[str]) -> str | None:
    for rollout in rollouts:
        target = keda.rollout_deployment(rollout)
        if target in names:
            return (f"Argo Rollout {_where(obj, rollout)} manages Deployment {target} "
                    f"(spec.workloadRef) and owns its replicas; {ADVICE}")
    return None


def _where(obj: Obj, other: Obj) -> str:
    return f"{st.ref_of(obj).namespace}/{keda.name_of(other)}"
